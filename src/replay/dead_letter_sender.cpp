#include "spillway/replay/dead_letter_sender.hpp"

#include "spillway/kafka/async_produce.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/this_coro.hpp>

namespace spillway::replay {

dead_letter_sender::dead_letter_sender(kafka::producer& producer, const backoff& retry)
    : producer_(producer), retry_(retry), log_(runtime::logger("replay")) {}

netx::task<bool> dead_letter_sender::send(const kafka::record& rec) {
    for (unsigned tries = 1;; ++tries) {
        auto [ec, report] = co_await kafka::async_produce(producer_, rec, netx::use_task);
        if (!ec) {
            co_return true;
        }
        log_->error("dead-letter to {} failed: {}; retrying", rec.topic, ec.message());
        if (stopped_) {
            co_return false;
        }
        // (co_await in a condition miscompiles with GCC 12: keep the result in a local.)
        const bool waited = co_await wait_to_retry(tries);
        if (!waited) {
            co_return false;
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
