#include "spillway/replay/tail.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/kafka/handles.hpp"
#include "spillway/runtime/logging.hpp"

namespace spillway::replay {

namespace {

// The topic's partitions, waiting (bounded) for the broker to answer.
std::vector<std::int32_t> topic_partitions(rd_kafka_t* rk, const std::string& topic,
                                           const std::atomic<bool>& stop) {
    kafka::topic_handle t(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
    while (!stop) {
        const rd_kafka_metadata_t* raw = nullptr;
        auto err = rd_kafka_metadata(rk, 0, t.get(), &raw, 2000);
        kafka::metadata_handle md(raw);
        if (!err && md && md->topic_cnt == 1 && !md->topics[0].err) {
            std::vector<std::int32_t> out;
            for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
                out.push_back(md->topics[0].partitions[i].id);
            }
            return out;
        }
        runtime::logger("replay")->warn(
            "tail: no metadata for {} yet: {}", topic,
            kafka::error_string(err ? err : (md && md->topic_cnt ? md->topics[0].err : err)));
    }
    return {};
}

}  // namespace

int run_tail(const config::config& cfg, const tail_options& options, std::ostream& out,
             const std::atomic<bool>& stop) {
    // A group id of its own (librdkafka wants one) that never joins or commits: assign() only.
    auto defaults =
        kafka::consumer_defaults(cfg.kafka, "spillway-replay-tail-" + core::new_request_id());
    defaults.emplace_back("enable.auto.commit", "false");
    defaults.emplace_back("client.id", "spillway-replay-tail");
    auto rk = kafka::make_client(RD_KAFKA_CONSUMER, kafka::build_conf(cfg.kafka, defaults));
    rd_kafka_poll_set_consumer(rk.get());

    const std::string& topic = options.topic.empty() ? cfg.kafka.topic : options.topic;
    auto parts = topic_partitions(rk.get(), topic, stop);
    if (parts.empty()) {
        return stop ? 0 : 1;
    }
    kafka::partition_list_handle list(
        rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
    for (auto p : parts) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
            options.from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    }
    if (auto err = rd_kafka_assign(rk.get(), list.get()); err) {
        runtime::logger("replay")->error("tail: assign: {}", kafka::error_string(err));
        return 1;
    }
    runtime::logger("replay")->info("tail: reading {} partitions of {}", parts.size(), topic);
    while (!stop) {
        kafka::message_handle msg(rd_kafka_consumer_poll(rk.get(), 200));
        if (!msg) {
            continue;
        }
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                runtime::logger("replay")->warn("tail: {}", rd_kafka_message_errstr(msg.get()));
            }
            continue;
        }
        std::string_view value(static_cast<const char*>(msg->payload), msg->len);
        if (options.keep && !options.keep(value)) {
            continue;
        }
        out << format_tail_line(options.format, value, {msg->partition, msg->offset},
                                cfg.backend.url)
            << std::endl;  // one line at a time: operators pipe it into grep and less
    }
    rd_kafka_assign(rk.get(), nullptr);
    rd_kafka_consumer_close(rk.get());
    return 0;
}

}  // namespace spillway::replay
