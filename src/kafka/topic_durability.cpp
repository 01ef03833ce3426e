#include "spillway/kafka/topic_durability.hpp"

#include "spillway/kafka/handles.hpp"
#include "spillway/runtime/logging.hpp"

#include <algorithm>
#include <charconv>
#include <variant>

namespace spillway::kafka {

namespace {

using namespace std::chrono_literals;

// Each request is short, so stop() is never held up long by one in flight; a client that is
// still connecting simply gets asked again.
constexpr int metadata_timeout_ms = 500;
constexpr int describe_timeout_ms = 1000;
constexpr auto poll_slice_ms = 100;
constexpr auto first_retry = 1s;
constexpr auto last_retry = 30s;

struct admin_options_deleter {
    void operator()(rd_kafka_AdminOptions_t* p) const noexcept { rd_kafka_AdminOptions_destroy(p); }
};
struct config_resource_deleter {
    void operator()(rd_kafka_ConfigResource_t* p) const noexcept {
        rd_kafka_ConfigResource_destroy(p);
    }
};

// The fewest replicas of any partition of `topic`, or why the broker did not say.
std::variant<int, std::string> replication_factor(rd_kafka_t* rk, const std::string& topic) {
    // A topic handle asks for this topic only (a producer's request may have the broker create
    // it, with the broker's defaults, as the first capture would).
    topic_handle t(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
    if (!t) {
        return std::string("cannot make a topic handle");
    }
    const rd_kafka_metadata_t* raw = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, t.get(), &raw, metadata_timeout_ms);
    const metadata_handle md(raw);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return error_string(err);
    }
    for (int i = 0; i < md->topic_cnt; ++i) {
        const auto& tm = md->topics[i];
        if (topic != tm.topic) {
            continue;
        }
        if (tm.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return error_string(tm.err);
        }
        if (tm.partition_cnt <= 0) {
            return std::string("the topic has no partitions");
        }
        int fewest = tm.partitions[0].replica_cnt;
        for (int p = 1; p < tm.partition_cnt; ++p) {
            fewest = std::min(fewest, tm.partitions[p].replica_cnt);
        }
        return fewest;
    }
    return std::string("the topic is not in the broker's metadata");
}

// The topic's min.insync.replicas (DescribeConfigs), or why the broker did not say.
template <typename Stopping>
std::variant<int, std::string> min_insync_replicas(rd_kafka_t* rk, const std::string& topic,
                                                   Stopping stopping) {
    queue_handle queue(rd_kafka_queue_new(rk));
    {
        std::unique_ptr<rd_kafka_ConfigResource_t, config_resource_deleter> resource(
            rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
        std::unique_ptr<rd_kafka_AdminOptions_t, admin_options_deleter> options(
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
        char errstr[256];
        (void)rd_kafka_AdminOptions_set_request_timeout(options.get(), describe_timeout_ms, errstr,
                                                        sizeof errstr);
        rd_kafka_ConfigResource_t* resources[] = {resource.get()};
        rd_kafka_DescribeConfigs(rk, resources, 1, options.get(), queue.get());
    }
    event_handle event;
    for (int waited = 0; !event && waited < 2 * describe_timeout_ms; waited += poll_slice_ms) {
        if (stopping()) {
            return std::string("stopped");
        }
        event.reset(rd_kafka_queue_poll(queue.get(), poll_slice_ms));
    }
    if (!event) {
        return std::string("no answer");
    }
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::string(rd_kafka_event_error_string(event.get()));
    }
    const auto* result = rd_kafka_event_DescribeConfigs_result(event.get());
    std::size_t count = 0;
    const auto** resources =
        result != nullptr ? rd_kafka_DescribeConfigs_result_resources(result, &count) : nullptr;
    if (count < 1) {
        return std::string("an empty answer");
    }
    if (rd_kafka_ConfigResource_error(resources[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::string(rd_kafka_ConfigResource_error_string(resources[0]));
    }
    std::size_t entries = 0;
    const auto** configs = rd_kafka_ConfigResource_configs(resources[0], &entries);
    for (std::size_t i = 0; i < entries; ++i) {
        const char* value = rd_kafka_ConfigEntry_value(configs[i]);
        if (std::string_view(rd_kafka_ConfigEntry_name(configs[i])) != "min.insync.replicas" ||
            value == nullptr) {
            continue;
        }
        const std::string_view text(value);
        int n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec == std::errc{} && end == text.data() + text.size()) {
            return n;
        }
        return "min.insync.replicas is \"" + std::string(text) + "\"";
    }
    return std::string("min.insync.replicas is not in the answer");
}

}  // namespace

bool survives_broker_loss(const topic_durability& d) {
    return d.replication_factor >= 3 && d.min_insync_replicas.value_or(0) >= 2;
}

std::string describe_durability(const std::string& topic, const topic_durability& d) {
    std::string out = "kafka topic " + topic + ": replication factor " +
                      std::to_string(d.replication_factor) + ", min.insync.replicas " +
                      (d.min_insync_replicas ? std::to_string(*d.min_insync_replicas)
                                             : "unknown (" + d.min_insync_error + ")");
    if (survives_broker_loss(d)) {
        return out + ": a queued request survives the loss of a broker";
    }
    out +=
        ": a queued request may not survive the loss of a broker; give the topic a replication "
        "factor of at least 3 (kafka-reassign-partitions.sh) and min.insync.replicas of at "
        "least 2 (kafka-configs.sh --alter --add-config min.insync.replicas=2)";
    if (d.replication_factor == 1) {
        out += " (expected with a single broker, as in the demo)";
    }
    return out;
}

topic_durability_check::topic_durability_check(const config::kafka_config& cfg) : cfg_(cfg) {}

topic_durability_check::~topic_durability_check() {
    stop();
}

void topic_durability_check::start() {
    thread_ = std::thread([this] { run(); });
}

void topic_durability_check::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::optional<topic_durability> topic_durability_check::result() const {
    std::lock_guard lock(mutex_);
    return result_;
}

bool topic_durability_check::wait(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, d, [this] { return stopping_; });
}

void topic_durability_check::run() noexcept {
    const auto log = runtime::logger("kafka");
    try {
        // The producer already logs what goes wrong with the brokers: this client's copies of
        // the same connection errors would only double every line while Kafka is down.
        auto rk = make_client(
            RD_KAFKA_PRODUCER,
            build_conf(cfg_, {{"client.id", "spillway-durability-check"}, {"log_level", "2"}}));
        const auto stopping = [this] {
            std::lock_guard lock(mutex_);
            return stopping_;
        };
        std::chrono::milliseconds delay = first_retry;
        std::string last_error;
        while (!stopping()) {
            auto rf = replication_factor(rk.get(), cfg_.topic);
            if (const int* n = std::get_if<int>(&rf)) {
                topic_durability d;
                d.replication_factor = *n;
                auto misr = min_insync_replicas(rk.get(), cfg_.topic, stopping);
                if (const int* m = std::get_if<int>(&misr)) {
                    d.min_insync_replicas = *m;
                } else {
                    d.min_insync_error = std::get<std::string>(misr);
                }
                log->log(survives_broker_loss(d) ? spdlog::level::info : spdlog::level::warn, "{}",
                         describe_durability(cfg_.topic, d));
                std::lock_guard lock(mutex_);
                result_ = std::move(d);
                return;
            }
            if (std::get<std::string>(rf) != last_error) {
                last_error = std::get<std::string>(rf);
                log->info("kafka topic {}: cannot read its replication yet ({}); asking again",
                          cfg_.topic, last_error);
            }
            if (!wait(delay)) {
                return;
            }
            delay = std::min<std::chrono::milliseconds>(delay * 2, last_retry);
        }
    } catch (const std::exception& e) {
        log->warn("kafka topic {}: cannot check its replication: {}", cfg_.topic, e.what());
    }
}

void topic_durability_check::write_metrics(metrics::exposition& out) const {
    const auto d = result();
    out.family("spillway_kafka_topic_replication_factor", "gauge",
               "The fewest replicas of any partition of the capture topic (from the broker, at "
               "start)");
    out.family("spillway_kafka_topic_min_insync_replicas", "gauge",
               "The capture topic's min.insync.replicas (from the broker, at start)");
    out.family("spillway_kafka_topic_durability_ok", "gauge",
               "1 when the capture topic survives a broker loss (replication factor >= 3 and "
               "min.insync.replicas >= 2), else 0");
    if (!d) {
        return;
    }
    const metrics::label_list labels{{"topic", cfg_.topic}};
    out.sample("spillway_kafka_topic_replication_factor", labels, d->replication_factor);
    if (d->min_insync_replicas) {
        out.sample("spillway_kafka_topic_min_insync_replicas", labels, *d->min_insync_replicas);
    }
    out.sample("spillway_kafka_topic_durability_ok", labels, survives_broker_loss(*d) ? 1 : 0);
}

}  // namespace spillway::kafka
