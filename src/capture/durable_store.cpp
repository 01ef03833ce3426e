#include "spillway/capture/durable_store.hpp"

#include "spillway/kafka/errors.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <librdkafka/rdkafka.h>

#include <memory>

namespace spillway::capture {

namespace {

namespace net = boost::asio;

// A coroutine's completion handler, waiting for one delivery report. Posted to the handler's
// executor, which is kept busy meanwhile (a stopping worker waits for it).
template <class Handler>
class pending_delivery {
public:
    explicit pending_delivery(Handler&& h)
        : handler_(std::move(h)),
          work_(net::prefer(net::get_associated_executor(handler_),
                            net::execution::outstanding_work.tracked)) {}

    void complete(kafka::delivery_report report) noexcept {
        net::post(work_, [h = std::move(handler_), report = std::move(report)]() mutable {
            std::move(h)(std::move(report));
        });
    }

private:
    Handler handler_;
    std::decay_t<decltype(net::prefer(net::get_associated_executor(std::declval<Handler&>()),
                                      net::execution::outstanding_work.tracked))>
        work_;
};

// The producer's callback completes the pending delivery; when produce() refuses the record the
// callback is destroyed unused and the initiation completes it with produce()'s error instead.
template <class Handler>
class delivery_handler final : public kafka::delivery_callback {
public:
    explicit delivery_handler(std::shared_ptr<pending_delivery<Handler>> pending)
        : pending_(std::move(pending)) {}

    void on_delivery(const kafka::delivery_report& report) noexcept override {
        pending_->complete(report);
    }

private:
    std::shared_ptr<pending_delivery<Handler>> pending_;
};

template <class Token>
auto async_produce(kafka::producer& producer, const kafka::record& record, Token&& token) {
    return net::async_initiate<Token, void(kafka::delivery_report)>(
        [&producer, &record](auto handler) {
            using handler_type = std::decay_t<decltype(handler)>;
            auto pending = std::make_shared<pending_delivery<handler_type>>(std::move(handler));
            const int error = producer.produce(
                record, std::make_unique<delivery_handler<handler_type>>(pending));
            if (error != 0) {
                kafka::delivery_report refused;
                refused.error = error;
                refused.error_message = rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(error));
                pending->complete(std::move(refused));
            }
        },
        token);
}

}  // namespace

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
        case sink::kafka: return "kafka";
        case sink::spool: return "spool";
        case sink::none: return "none";
    }
    return "none";
}

netx::task<sink> durable_store::store(kafka::record record, std::string_view id) {
    static const auto log = runtime::logger("capture");
    auto report = co_await async_produce(producer_, record,
                                         net::use_awaitable_t<netx::executor>{});
    if (report.ok()) {
        co_return sink::kafka;
    }
    if (kafka::is_permanent_error(report.error)) {
        log->error("request {} NOT stored: kafka refuses it ({}, {} bytes)", id,
                   report.error_message, record.value.size());
        co_return sink::none;
    }
    if (spool_warnings_.allow()) {
        log->warn("kafka did not confirm request {} ({}); spooling ({} warnings suppressed)", id,
                  report.error_message, spool_warnings_.take_suppressed());
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
