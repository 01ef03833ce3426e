#pragma once
// Owning handles for librdkafka's C objects and the configuration builder shared by every Kafka
// client in Spillway (the capture producer, the spool drainer, the replay consumer). The C API
// is called directly; these only make ownership and start-up errors explicit.

#include "spillway/config/config.hpp"
#include "spillway/kafka/errors.hpp"

#include <librdkafka/rdkafka.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spillway::kafka {

namespace detail {

struct kafka_deleter {
    // Also waits for librdkafka's threads: never call it from one of its callbacks.
    void operator()(rd_kafka_t* p) const noexcept { rd_kafka_destroy(p); }
};
struct conf_deleter {
    void operator()(rd_kafka_conf_t* p) const noexcept { rd_kafka_conf_destroy(p); }
};
struct topic_conf_deleter {
    void operator()(rd_kafka_topic_conf_t* p) const noexcept { rd_kafka_topic_conf_destroy(p); }
};
struct topic_deleter {
    void operator()(rd_kafka_topic_t* p) const noexcept { rd_kafka_topic_destroy(p); }
};
struct partition_list_deleter {
    void operator()(rd_kafka_topic_partition_list_t* p) const noexcept {
        rd_kafka_topic_partition_list_destroy(p);
    }
};
struct message_deleter {
    void operator()(rd_kafka_message_t* p) const noexcept { rd_kafka_message_destroy(p); }
};
struct headers_deleter {
    void operator()(rd_kafka_headers_t* p) const noexcept { rd_kafka_headers_destroy(p); }
};
struct queue_deleter {
    void operator()(rd_kafka_queue_t* p) const noexcept { rd_kafka_queue_destroy(p); }
};
struct event_deleter {
    void operator()(rd_kafka_event_t* p) const noexcept { rd_kafka_event_destroy(p); }
};
struct error_deleter {
    void operator()(rd_kafka_error_t* p) const noexcept { rd_kafka_error_destroy(p); }
};
struct metadata_deleter {
    void operator()(const rd_kafka_metadata_t* p) const noexcept { rd_kafka_metadata_destroy(p); }
};
struct group_metadata_deleter {
    void operator()(rd_kafka_consumer_group_metadata_t* p) const noexcept {
        rd_kafka_consumer_group_metadata_destroy(p);
    }
};

}  // namespace detail

using kafka_handle = std::unique_ptr<rd_kafka_t, detail::kafka_deleter>;
using conf_handle = std::unique_ptr<rd_kafka_conf_t, detail::conf_deleter>;
using topic_conf_handle = std::unique_ptr<rd_kafka_topic_conf_t, detail::topic_conf_deleter>;
using topic_handle = std::unique_ptr<rd_kafka_topic_t, detail::topic_deleter>;
using partition_list_handle =
    std::unique_ptr<rd_kafka_topic_partition_list_t, detail::partition_list_deleter>;
using message_handle = std::unique_ptr<rd_kafka_message_t, detail::message_deleter>;
using headers_handle = std::unique_ptr<rd_kafka_headers_t, detail::headers_deleter>;
using queue_handle = std::unique_ptr<rd_kafka_queue_t, detail::queue_deleter>;
using event_handle = std::unique_ptr<rd_kafka_event_t, detail::event_deleter>;
using error_handle = std::unique_ptr<rd_kafka_error_t, detail::error_deleter>;
using metadata_handle = std::unique_ptr<const rd_kafka_metadata_t, detail::metadata_deleter>;
using group_metadata_handle =
    std::unique_ptr<rd_kafka_consumer_group_metadata_t, detail::group_metadata_deleter>;

using property_list = std::vector<std::pair<std::string, std::string>>;

// Spillway's defaults for a producer: idempotent, acks=all, message.timeout.ms =
// kafka.delivery_timeout_ms (the delivery report is the deadline) and the low-latency batching
// that docs/ARCHITECTURE.md explains. kafka.properties may override any of them.
property_list producer_defaults(const config::kafka_config& cfg);

// Spillway's defaults for a group consumer: manual offset commits (the replay consumer commits
// only finished messages), reading from the earliest offset of a new group.
property_list consumer_defaults(const config::kafka_config& cfg, const std::string& group_id);

// A configuration with bootstrap.servers = kafka.brokers, then `defaults`, then
// kafka.properties as is, and librdkafka's logs forwarded to the "kafka" logger.
// Throws config::config_error naming the property ("kafka.properties.foo: No such configuration
// property: \"foo\"") when librdkafka rejects one; a default it rejects is named without the
// "kafka.properties." prefix. Start-up only.
conf_handle build_conf(const config::kafka_config& cfg, const property_list& defaults);

// rd_kafka_new, which takes the configuration. Throws config::config_error ("kafka.properties:
// <librdkafka's reason>") when it rejects a combination of properties. Start-up only.
kafka_handle make_client(rd_kafka_type_t type, conf_handle&& conf);

// Installs the noexcept trampoline that forwards librdkafka's logs to the "kafka" logger with
// the matching level (syslog levels mapped to spdlog's). build_conf calls it.
void forward_logs(rd_kafka_conf_t* conf) noexcept;

// What a client really runs with, read back from librdkafka for the start-up log: "acks=-1
// enable.idempotence=true message.timeout.ms=5000 ..." for each of `names` ("?" when unknown).
std::string describe_settings(rd_kafka_t* rk, std::initializer_list<const char*> names);

// librdkafka's description of an error code.
std::string error_string(rd_kafka_resp_err_t err);

// The C API's error code in the kafka category (errors.hpp); NO_ERROR is the empty code.
inline boost::system::error_code make_error_code(rd_kafka_resp_err_t err) noexcept {
    return make_error_code(static_cast<errc>(err));
}

}  // namespace spillway::kafka
