#include "spillway/replay/dead_letter_sender.hpp"

#include "spillway/envelope/envelope_limits.hpp"
#include "spillway/kafka/async_produce.hpp"
#include "spillway/kafka/errors.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/this_coro.hpp>

#include <string>

namespace spillway::replay {

namespace {

// The request id of a dead letter (its spillway-id header), else where it came from.
std::string describe(const kafka::record& rec) {
    std::string source;
    for (const auto& [name, value] : rec.headers) {
        if (name == "spillway-id") {
            return value;
        }
        if (name == "spillway-source") {
            source = value;
        }
    }
    return source;
}

}  // namespace

config::kafka_config dead_letter_producer_config(const config::config& cfg) {
    auto kafka = cfg.kafka;
    if (!kafka.properties.contains("message.max.bytes")) {
        const auto largest = envelope::max_dead_letter_bytes(cfg.capture.max_body_bytes,
                                                             cfg.limits.max_header_bytes);
        kafka.properties["message.max.bytes"] =
            std::to_string(envelope::message_max_bytes_for(largest));
    }
    return kafka;
}

dead_letter_sender::dead_letter_sender(kafka::producer& producer, const backoff& retry,
                                       std::atomic<std::uint64_t>& failures)
    : producer_(producer), retry_(retry), failures_(failures), log_(runtime::logger("replay")) {}

netx::task<dead_letter_result> dead_letter_sender::send(const kafka::record& rec) {
    unsigned refusals = 0;
    for (unsigned tries = 1;; ++tries) {
        auto [ec, report] = co_await kafka::async_produce(producer_, rec, netx::use_task);
        if (!ec) {
            co_return dead_letter_result{dead_letter_result::kind::acknowledged, {}};
        }
        failures_.fetch_add(1, std::memory_order_relaxed);
        const bool permanent = kafka::is_permanent_error(ec);
        refusals = permanent ? refusals + 1 : 0;
        if (refusals >= permanent_tries) {
            log_->error("{}: dead-letter of {} bytes to {} refused {} times: {}", describe(rec),
                        rec.value.size(), rec.topic, refusals, ec.message());
            co_return dead_letter_result{dead_letter_result::kind::refused, ec};
        }
        log_->error("{}: dead-letter of {} bytes to {} failed: {}; retrying", describe(rec),
                    rec.value.size(), rec.topic, ec.message());
        if (stopped_) {
            co_return dead_letter_result{};
        }
        // (co_await in a condition miscompiles with GCC 12: keep the result in a local.)
        const bool waited = co_await wait_to_retry(tries);
        if (!waited) {
            co_return dead_letter_result{};
        }
    }
}

netx::task<bool> dead_letter_sender::wait_to_retry(unsigned tries) {
    netx::steady_timer timer(co_await net::this_coro::executor, retry_.delay(tries));
    waits_.insert(&timer);
    co_await timer.async_wait(netx::use_task);
    waits_.erase(&timer);
    co_return !stopped_;
}

void dead_letter_sender::stop() {
    stopped_ = true;
    for (auto* timer : waits_) {
        timer->cancel();
    }
}

}  // namespace spillway::replay
