#pragma once
// "Queued" means stored durably: Kafka's delivery report said success (acks=all, idempotent
// producer), or, when it did not within kafka.delivery_timeout_ms (librdkafka's
// message.timeout.ms, so the report itself is the deadline), the record was committed to the
// local SQLite spool, which drains to Kafka later. Only when both fail is it not stored.
// The waiting session is resumed on its own executor; no thread waits for anything.

#include "spillway/kafka/producer.hpp"
#include "spillway/net/timed_socket.hpp"
#include "spillway/spool/spool.hpp"

#include <atomic>
#include <cstdint>
#include <string_view>

namespace spillway::capture {

enum class sink { kafka, spool, none };

std::string_view to_string(sink s);

class durable_store {
public:
    durable_store(kafka::producer& producer, spool::spool& spool)
        : producer_(producer), spool_(spool) {}

    // Stores the record and tells where it went. `id` names it in logs.
    netx::task<sink> store(kafka::record record, std::string_view id);

private:
    // At most one warning a second when Kafka fails: an outage must not become a log flood.
    class log_throttle {
    public:
        bool allow() noexcept;
        std::uint64_t take_suppressed() noexcept { return suppressed_.exchange(0); }

    private:
        std::atomic<std::int64_t> next_ns_{0};
        std::atomic<std::uint64_t> suppressed_{0};
    };

    kafka::producer& producer_;
    spool::spool& spool_;
    log_throttle spool_warnings_;
};

}  // namespace spillway::capture
