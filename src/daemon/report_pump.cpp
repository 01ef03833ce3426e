#include "spillway/daemon/report_pump.hpp"

#include "spillway/runtime/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

namespace spillway::daemon {

namespace net = boost::asio;

// Lives as long as the serving coroutine or the pump, whichever ends last; touched only on the
// event loop's thread once started.
struct report_pump::state {
    state(netx::executor ex, int fd) : descriptor(ex, fd) {}
    net::posix::basic_stream_descriptor<netx::executor> descriptor;
    bool stopped = false;
};

namespace {

netx::task<void> serve(std::shared_ptr<report_pump::state> st, kafka::producer& producer) {
    for (;;) {
        auto [ec] = co_await st->descriptor.async_wait(
            net::posix::descriptor_base::wait_read,
            net::as_tuple(net::use_awaitable_t<netx::executor>{}));
        // stop() may have run while this wake-up was already on its way: its cancel then found
        // nothing to cancel, so the flag is what ends the loop.
        if (ec || st->stopped) {
            co_return;
        }
        producer.serve_reports();
    }
}

}  // namespace

report_pump::report_pump(kafka::producer& producer) : producer_(producer) {}

report_pump::~report_pump() {
    stop();
}

bool report_pump::start(netx::executor ex) {
    const int fd = producer_.take_over_reports();
    if (fd < 0) {
        return false;
    }
    const int own = ::dup(fd);  // the descriptor object closes its own copy, never the producer's
    if (own < 0) {
        producer_.give_back_reports();
        return false;
    }
    state_ = std::make_shared<state>(ex, own);
    net::co_spawn(ex, serve(state_, producer_), net::detached);
    return true;
}

void report_pump::stop() noexcept {
    if (!state_) {
        return;
    }
    // The poll thread first: from here on reports are served whatever the event loop does.
    producer_.give_back_reports();
    try {
        net::post(state_->descriptor.get_executor(), [st = state_] {
            st->stopped = true;
            boost::system::error_code ignored;
            st->descriptor.cancel(ignored);
        });
    } catch (const std::exception& e) {
        runtime::logger("kafka")->error("report pump: cannot stop its wait: {}", e.what());
    }
    state_.reset();
}

}  // namespace spillway::daemon
