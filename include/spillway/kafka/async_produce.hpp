#pragma once
// One Kafka record as an Asio asynchronous operation:
//
//     auto [ec, report] = co_await kafka::async_produce(producer, rec, as_tuple(use_awaitable));
//
// The producer's callback (its report thread) becomes a completion posted to the handler's
// associated executor, which counts it as outstanding work until then: a stopping event loop
// waits for the report instead of running out of work. The handler runs exactly once, with
// the kafka-category error (empty: delivered) and the report whose `error` is the same code:
// - on the delivery report, success or failure (purged at close included);
// - with produce()'s own error when it refuses the record at once (queue full, closed);
// - with errc::destroy when a producer drops the callback without calling it.
// Never inline: even a refusal is posted, so the caller's frame is never re-entered.
// The record is copied by produce() during the initiation: it only has to live until then.
// A handler with no associated executor completes on Asio's system executor (bind one).

#include "spillway/kafka/producer.hpp"
#include "spillway/net/tracked_completion.hpp"

#include <boost/asio/async_result.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace spillway::kafka {

namespace detail {

// The operation, shared by the initiation and the producer's callback: the handler and the
// outstanding work on its executor. The initiation completes it when produce() refuses the
// record (the callback is then destroyed unused), the callback when the report arrives; the
// last owner to let go completes it if neither did.
template <class Handler>
class produce_op {
public:
    explicit produce_op(Handler&& handler) : completion_(std::move(handler)) {}

    ~produce_op() {
        if (!done_) {
            delivery_report dropped;
            dropped.error = errc::destroy;
            complete(std::move(dropped));
        }
    }

    produce_op(const produce_op&) = delete;
    produce_op& operator=(const produce_op&) = delete;

    void complete(delivery_report report) noexcept {
        done_ = true;
        const boost::system::error_code ec = report.error;
        completion_.post(ec, std::move(report));
    }

private:
    netx::tracked_completion<Handler> completion_;
    bool done_ = false;  // written by whoever completes; read by the last owner (shared_ptr orders)
};

template <class Handler>
class produce_callback final : public delivery_callback {
public:
    explicit produce_callback(std::shared_ptr<produce_op<Handler>> op) : op_(std::move(op)) {}

    void on_delivery(const delivery_report& report) noexcept override { op_->complete(report); }

private:
    std::shared_ptr<produce_op<Handler>> op_;
};

struct initiate_produce {
    template <class Handler>
    void operator()(Handler&& handler, producer* p, const record* r) const {
        using op_type = produce_op<std::decay_t<Handler>>;
        auto op = std::make_shared<op_type>(std::move(handler));
        auto callback = std::make_unique<produce_callback<std::decay_t<Handler>>>(op);
        if (auto ec = p->produce(*r, std::move(callback))) {
            delivery_report refused;
            refused.error = ec;
            op->complete(std::move(refused));
        }
    }
};

}  // namespace detail

// Completion signature: void(boost::system::error_code, delivery_report).
template <class CompletionToken>
auto async_produce(producer& p, const record& r, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken,
                                       void(boost::system::error_code, delivery_report)>(
        detail::initiate_produce{}, token, &p, &r);
}

}  // namespace spillway::kafka
