#include "spillway/kafka/handles.hpp"

#include "spillway/runtime/logging.hpp"

namespace spillway::kafka {

namespace {

// librdkafka logs with syslog levels from its own threads.
spdlog::level::level_enum to_spdlog_level(int syslog_level) {
    if (syslog_level <= 2) {
        return spdlog::level::critical;
    }
    if (syslog_level == 3) {
        return spdlog::level::err;
    }
    if (syslog_level == 4) {
        return spdlog::level::warn;
    }
    if (syslog_level <= 6) {
        return spdlog::level::info;
    }
    return spdlog::level::debug;
}

void log_trampoline(const rd_kafka_t* rk, int level, const char* fac, const char* buf) noexcept {
    try {
        static const auto log = runtime::logger("kafka");
        const char* name = rk != nullptr ? rd_kafka_name(rk) : "rdkafka";
        log->log(to_spdlog_level(level), "{} {}: {}", name, fac, buf);
    } catch (...) {
        // A log line is not worth unwinding into librdkafka's C frames.
    }
}

// `key` is what the error names: the configuration key the value came from.
void set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
                  const std::string& key) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        throw config::config_error(key + ": " + errstr);
    }
}

}  // namespace

property_list producer_defaults(const config::kafka_config& cfg) {
    return {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        // The delivery report is the capture's deadline: no timer of our own, no duplicate.
        {"message.timeout.ms", std::to_string(cfg.delivery_timeout.count())},
        // librdkafka checks message timeouts from the broker thread, which sleeps through its
        // reconnect backoff while the broker is down (up to 10 s by default): a capture then
        // waited ~10 s instead of delivery_timeout_ms before it was spooled (measured in the
        // outage tests). Capped at 1 s, the timeout fires within about a second of its due time
        // and the producer notices a returning broker as soon.
        {"reconnect.backoff.max.ms", "1000"},
        // Every captured request waits for its ack: a lone record must leave at once, while the
        // records that arrive during a produce round trip batch into the next request anyway.
        // Measured (tests/integration/kafka/producer_bench_test.cpp): linger.ms=0 beats 1, 2
        // and 5 in latency and in throughput at every concurrency we tried.
        {"linger.ms", "0"},
        // One produce request in flight per broker: the records that arrive meanwhile leave
        // together in the next one, so batches grow with the load and the broker sees few
        // requests during an incident. It also keeps a broker that leaves Nagle on (librdkafka's
        // mock cluster, behind spillway-devbroker) from holding a response back until our
        // delayed ACK, 40 ms later, which it did to about 1% of captures with 5 in flight.
        // Measured on the failure path (bench/, anchors setup): p99 35 ms -> 2 ms, and req/s
        // up, not down. A request carries up to batch.size per partition, far more than
        // captures need; kafka.properties can raise it.
        {"max.in.flight.requests.per.connection", "1"},
        {"socket.nagle.disable", "true"},
        // Feeds producer::connected() once a second.
        {"statistics.interval.ms", "1000"},
        {"log.connection.close", "false"},
        {"client.id", "spillway"},
    };
}

property_list consumer_defaults(const config::kafka_config& /*cfg*/, const std::string& group_id) {
    return {
        {"group.id", group_id},
        // A new group starts at the oldest queued request, not at the next one to arrive.
        {"auto.offset.reset", "earliest"},
        // Only offsets the application stores (finished messages) are committed.
        {"enable.auto.offset.store", "false"},
        {"socket.nagle.disable", "true"},
        {"log.connection.close", "false"},
        {"client.id", "spillway-replay"},
    };
}

std::string describe_settings(rd_kafka_t* rk, std::initializer_list<const char*> names) {
    const rd_kafka_conf_t* conf = rd_kafka_conf(rk);
    std::string out;
    for (const char* name : names) {
        char value[256];
        std::size_t size = sizeof value;
        // Topic properties such as acks are found through the default topic configuration.
        const bool known = rd_kafka_conf_get(conf, name, value, &size) == RD_KAFKA_CONF_OK;
        if (!out.empty()) {
            out += ' ';
        }
        out.append(name).append("=").append(known ? value : "?");
    }
    return out;
}

conf_handle build_conf(const config::kafka_config& cfg, const property_list& defaults) {
    conf_handle conf(rd_kafka_conf_new());
    forward_logs(conf.get());
    set_property(conf.get(), "bootstrap.servers", cfg.brokers, "kafka.brokers");
    for (const auto& [name, value] : defaults) {
        set_property(conf.get(), name, value, name);
    }
    for (const auto& [name, value] : cfg.properties) {
        set_property(conf.get(), name, value, "kafka.properties." + name);
    }
    return conf;
}

kafka_handle make_client(rd_kafka_type_t type, conf_handle&& conf) {
    char errstr[512];
    // rd_kafka_new takes ownership of the configuration only when it succeeds.
    kafka_handle rk(rd_kafka_new(type, conf.get(), errstr, sizeof errstr));
    if (!rk) {
        // What rd_kafka_new rejects is a combination of properties (e.g. acks=1 with
        // enable.idempotence=true): a configuration error all the same.
        throw config::config_error(std::string("kafka.properties: ") + errstr);
    }
    (void)conf.release();
    return rk;
}

void forward_logs(rd_kafka_conf_t* conf) noexcept {
    rd_kafka_conf_set_log_cb(conf, log_trampoline);
}

std::string error_string(rd_kafka_resp_err_t err) {
    return rd_kafka_err2str(err);
}

}  // namespace spillway::kafka
