#pragma once
// A completion handler that another thread finishes: librdkafka's delivery reports, the spool's
// writer thread. The handler is posted back to its own associated executor, and until then that
// executor counts it as outstanding work, so a stopping event loop waits for the result instead
// of running out of work with a coroutine still suspended on it.

#include <boost/asio/append.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <type_traits>
#include <utility>

namespace spillway::netx {

template <class Handler>
class tracked_completion {
public:
    explicit tracked_completion(Handler&& handler)
        : handler_(std::move(handler)),
          work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_),
                                    boost::asio::execution::outstanding_work.tracked)) {}

    // Posts the handler, called with `args`, to its executor. At most once.
    template <class... Args>
    void post(Args&&... args) {
        boost::asio::post(work_,
                          boost::asio::append(std::move(handler_), std::forward<Args>(args)...));
    }

private:
    Handler handler_;
    std::decay_t<decltype(boost::asio::prefer(
        boost::asio::get_associated_executor(std::declval<Handler&>()),
        boost::asio::execution::outstanding_work.tracked))>
        work_;
};

}  // namespace spillway::netx
