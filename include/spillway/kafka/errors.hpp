#pragma once
// librdkafka's error codes as boost::system::error_code (category "kafka", librdkafka's own
// messages), and how Spillway classifies them. rdkafka.h stays out of this header: errc's values
// are librdkafka's rd_kafka_resp_err_t numbers, and handles.hpp converts from the C type.

#include <boost/system/error_code.hpp>

namespace spillway::kafka {

// Any rd_kafka_resp_err_t value, not only the named ones: those are the codes Spillway's code and
// tests name (errors.cpp checks each against rdkafka.h).
enum class errc : int {
    no_error = 0,
    msg_size_too_large = 10,  // the broker's message.max.bytes (or the topic's) is smaller
    purge_inflight = -151,  // purged at close while in flight (it may be in the topic)
    purge_queue = -152,  // purged at close before it was sent
    queue_full = -184,  // librdkafka's local queue is full
    msg_timed_out = -192,  // no acknowledgement within message.timeout.ms
    destroy = -197,  // the producer is closing or closed
};

const boost::system::error_category& kafka_category() noexcept;

// no_error is the empty error_code, so `!ec` means "delivered" whatever made the code.
inline boost::system::error_code make_error_code(errc e) noexcept {
    if (e == errc::no_error) {
        return {};
    }
    return {static_cast<int>(e), kafka_category()};
}

// Errors that retrying cannot cure: Kafka refuses this record itself (too large, invalid, not
// authorised). A capture that meets one is not spooled (the spool would only send it again) and a
// spooled record that meets one is quarantined, so it cannot block the records behind it.
// False for any code outside the kafka category.
bool is_permanent_error(const boost::system::error_code& ec) noexcept;

}  // namespace spillway::kafka

template <>
struct boost::system::is_error_code_enum<spillway::kafka::errc> : std::true_type {};
