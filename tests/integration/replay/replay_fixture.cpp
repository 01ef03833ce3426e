#include "replay_fixture.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/kafka/handles.hpp"
#include "spillway/kafka/producer.hpp"

#include "support/ports.hpp"

#include <condition_variable>
#include <fstream>
#include <mutex>

namespace spillway::test::replay {

namespace {

class counting_callback final : public kafka::delivery_callback {
public:
    struct shared {
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t ok = 0;
        std::size_t failed = 0;
    };
    explicit counting_callback(std::shared_ptr<shared> s) : s_(std::move(s)) {}
    void on_delivery(const kafka::delivery_report& report) noexcept override {
        std::lock_guard lock(s_->mutex);
        ++(report.ok() ? s_->ok : s_->failed);
        s_->cv.notify_all();
    }

private:
    std::shared_ptr<shared> s_;
};

}  // namespace

envelope::envelope make_envelope(std::string uri, std::string body) {
    envelope::envelope e;
    e.id = core::new_request_id();
    e.received_at = core::now_rfc3339();
    e.method = "POST";
    e.uri = std::move(uri);
    e.http_version = "1.1";
    e.headers = {{"Host", "api.example:8080"}, {"Content-Type", "application/json"}};
    e.body = std::move(body);
    e.client_ip = "127.0.0.1";
    e.upstream = "127.0.0.1:3000";
    e.failure.kind = core::failure_kind::connect_error;
    e.failure.detail = "Connection refused";
    return e;
}

void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<std::pair<std::string, std::string>>& records) {
    config::kafka_config cfg;
    cfg.brokers = bootstrap;
    cfg.topic = topic;
    cfg.delivery_timeout = 30s;
    cfg.properties["message.max.bytes"] = "20000000";  // envelopes of a few MiB, as the proxy's
    auto producer = kafka::make_producer(cfg);
    auto s = std::make_shared<counting_callback::shared>();
    for (const auto& [key, value] : records) {
        ASSERT_EQ(
            producer->produce({topic, key, value, {}}, std::make_unique<counting_callback>(s)),
            boost::system::error_code{});
    }
    std::unique_lock lock(s->mutex);
    ASSERT_TRUE(s->cv.wait_for(lock, 60s, [&] { return s->ok + s->failed == records.size(); }));
    ASSERT_EQ(s->failed, 0u);
    lock.unlock();
    producer->close(5s);
}

void produce_envelopes(const std::string& bootstrap, const std::string& topic,
                       const std::vector<envelope::envelope>& envelopes) {
    std::vector<std::pair<std::string, std::string>> records;
    for (const auto& e : envelopes) {
        records.emplace_back(e.id, envelope::to_json(e));
    }
    produce(bootstrap, topic, records);
}

std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& bootstrap,
                                                       const std::string& group,
                                                       const std::string& topic) {
    config::kafka_config cfg;
    cfg.brokers = bootstrap;
    auto rk = kafka::make_client(RD_KAFKA_CONSUMER,
                                 kafka::build_conf(cfg, kafka::consumer_defaults(cfg, group)));
    std::map<std::int32_t, std::int64_t> out;
    kafka::partition_list_handle list(rd_kafka_topic_partition_list_new(8));
    for (auto p : kcat::partitions(bootstrap, topic)) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    }
    if (rd_kafka_committed(rk.get(), list.get(), 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < list->cnt; ++i) {
            if (list->elems[i].offset >= 0) {
                out[list->elems[i].partition] = list->elems[i].offset;
            }
        }
    }
    rd_kafka_consumer_close(rk.get());
    return out;
}

std::vector<std::string> read_topic(const std::string& bootstrap, const std::string& topic) {
    config::kafka_config cfg;
    cfg.brokers = bootstrap;
    auto rk = kafka::make_client(
        RD_KAFKA_CONSUMER,
        kafka::build_conf(cfg,
                          kafka::consumer_defaults(cfg, "read-topic-" + core::new_request_id())));
    std::vector<std::string> out;
    for (const auto& [partition, end] : kcat::end_offsets(bootstrap, topic)) {
        kafka::partition_list_handle list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        EXPECT_EQ(rd_kafka_assign(rk.get(), list.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        for (std::int64_t next = 0; next < end && std::chrono::steady_clock::now() < deadline;) {
            kafka::message_handle m(rd_kafka_consumer_poll(rk.get(), 200));
            if (m && !m->err && m->partition == partition) {
                out.emplace_back(static_cast<const char*>(m->payload), m->len);
                next = m->offset + 1;
            }
        }
    }
    rd_kafka_consumer_close(rk.get());
    return out;
}

void ReplayTest::start_environment(replay_settings settings) {
    replays_.clear();
    settings_ = settings;
    devbroker_options bo;
    bo.partitions = settings.partitions;
    broker_ = std::make_unique<devbroker>(bo);
    backend_ = std::make_unique<fake_backend>();
    backend_->dedupe_idempotency_keys(settings.dedupe);
    backend_->set_probe_path(probe_path);
    dir_ = std::make_unique<temp_dir>("spillway-replay-test");
}

std::string ReplayTest::config_path() {
    nlohmann::json cfg = {
        {"shutdown_timeout_ms", 3000},
        {"backend",
         {{"url", backend_->url()}, {"connect_timeout_ms", 500}, {"response_timeout_ms", 5000}}},
        // Short group timeouts so a restarted consumer gets the partitions of a killed one fast.
        {"kafka",
         {{"brokers", broker_->bootstrap()},
          {"properties",
           {{"session.timeout.ms", "3000"},
            {"heartbeat.interval.ms", "300"},
            {"max.poll.interval.ms", "4000"}}}}},
        {"replay",
         {{"concurrency", settings_.concurrency},
          {"max_attempts", settings_.max_attempts},
          {"rate_limit", settings_.rate_limit},
          {"backoff_initial_ms", settings_.backoff_initial_ms},
          {"backoff_max_ms", settings_.backoff_max_ms},
          {"probe_interval_ms", 50},
          {"probe_path", probe_path}}},
        {"log", {{"level", settings_.log_level}}}};
    if (!settings_.settings.is_null()) {
        cfg.merge_patch(settings_.settings);
    }
    if (admin_port_ != 0) {
        cfg["admin"] = {{"listen", "127.0.0.1:" + std::to_string(admin_port_)}};
    }
    auto path = *dir_ / "replay.json";
    std::ofstream(path) << cfg.dump(2);
    return path.string();
}

process& ReplayTest::start_replay(std::vector<std::string> extra_args, bool wait_assigned) {
    process_options o;
    o.path = bin_path("spillway-replay");
    admin_port_ = free_port();
    o.args = {"--config", config_path()};
    o.env = settings_.env;
    o.args.insert(o.args.end(), extra_args.begin(), extra_args.end());
    replays_.push_back(process::start(std::move(o)));
    auto& p = replays_.back();
    if (wait_assigned) {
        EXPECT_TRUE(p.wait_for_output("assigned partitions", 30s)) << p.stderr_text();
    }
    return p;
}

std::vector<nlohmann::json> ReplayTest::dead_letters() {
    std::vector<nlohmann::json> out;
    for (const auto& m : kcat::consume_all(broker_->bootstrap(), "failed-requests.dlq")) {
        out.push_back(nlohmann::json::parse(m.value, nullptr, false));
    }
    return out;
}

}  // namespace spillway::test::replay
