#include "spillway/capture/durable_store.hpp"

#include "spillway/kafka/async_produce.hpp"
#include "spillway/runtime/logging.hpp"

namespace spillway::capture {

bool durable_store::log_throttle::allow() noexcept {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto next = next_ns_.load(std::memory_order_relaxed);
    if (now >= next && next_ns_.compare_exchange_strong(
                           next, now + std::chrono::nanoseconds(std::chrono::seconds(1)).count())) {
        return true;
    }
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

std::string_view to_string(sink s) {
    switch (s) {
        case sink::kafka:
            return "kafka";
        case sink::spool:
            return "spool";
        case sink::none:
            return "none";
    }
    return "none";
}

netx::task<sink> durable_store::store(kafka::record record, std::string_view id) {
    static const auto log = runtime::logger("capture");
    auto [kafka_ec, report] = co_await kafka::async_produce(producer_, record, netx::use_task);
    if (!kafka_ec) {
        co_return sink::kafka;
    }
    if (kafka::is_permanent_error(kafka_ec)) {
        log->error("request {} NOT stored: kafka refuses it ({}, {} bytes)", id, kafka_ec.message(),
                   record.value.size());
        co_return sink::none;
    }
    if (spool_warnings_.allow()) {
        log->warn("kafka did not confirm request {} ({}); spooling ({} warnings suppressed)", id,
                  kafka_ec.message(), spool_warnings_.take_suppressed());
    }
    auto [ec] = co_await spool_.async_append(std::move(record), netx::use_task);
    if (!ec) {
        co_return sink::spool;
    }
    log->error("request {} NOT stored: kafka failed and the spool refused it ({})", id,
               ec.message());
    co_return sink::none;
}

}  // namespace spillway::capture
