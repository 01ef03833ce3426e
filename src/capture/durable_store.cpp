#include "spillway/capture/durable_store.hpp"

#include "spillway/runtime/logging.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <optional>

namespace spillway::capture {

namespace {

namespace net = boost::asio;

// Carries a coroutine's completion handler through the producer's delivery_callback and posts
// the report to the handler's executor (kept busy meanwhile, so a stopping worker waits for it).
// Destroyed without a report (produce() refused the record), it completes with an error, so the
// waiting request falls back to the spool instead of being dropped.
template <class Handler>
class delivery_handler final : public kafka::delivery_callback {
public:
    explicit delivery_handler(Handler&& h)
        : handler_(std::move(h)),
          work_(net::prefer(net::get_associated_executor(*handler_),
                            net::execution::outstanding_work.tracked)) {}

    ~delivery_handler() override {
        if (handler_) {
            kafka::delivery_report refused;
            refused.error = -1;
            refused.error_message = "the producer did not accept the record";
            complete(std::move(refused));
        }
    }

    void on_delivery(const kafka::delivery_report& report) noexcept override { complete(report); }

private:
    void complete(kafka::delivery_report report) noexcept {
        auto h = std::move(*handler_);
        handler_.reset();
        net::post(work_, [h = std::move(h), report = std::move(report)]() mutable {
            std::move(h)(std::move(report));
        });
    }

    std::optional<Handler> handler_;
    std::decay_t<decltype(net::prefer(net::get_associated_executor(std::declval<Handler&>()),
                                      net::execution::outstanding_work.tracked))>
        work_;
};

template <class Token>
auto async_produce(kafka::producer& producer, const kafka::record& record, Token&& token) {
    return net::async_initiate<Token, void(kafka::delivery_report)>(
        [&producer, &record](auto handler) {
            using handler_type = std::decay_t<decltype(handler)>;
            producer.produce(record,
                             std::make_unique<delivery_handler<handler_type>>(std::move(handler)));
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
