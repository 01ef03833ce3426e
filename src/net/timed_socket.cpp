#include "spillway/net/timed_socket.hpp"

#include <boost/beast/core/error.hpp>

#include <algorithm>

namespace spillway::netx {

timed_socket::timed_socket(tcp_socket socket, deadline_sweeper& sweeper)
    : socket_(std::move(socket)) {
    sweeper.add(*this);
}

timed_socket::timed_socket(deadline_sweeper& sweeper)
    : timed_socket(tcp_socket(sweeper.get_executor()), sweeper) {}

boost::system::error_code timed_socket::translate(boost::system::error_code ec) const noexcept {
    if (expired_ && ec == net::error::operation_aborted) {
        return boost::beast::error::timeout;
    }
    return ec;
}

deadline_sweeper::deadline_sweeper(executor ex, std::chrono::milliseconds resolution)
    : timer_(ex), resolution_(resolution) {}

task<void> deadline_sweeper::run() {
    while (!stopped_) {
        timer_.expires_after(resolution_);
        co_await timer_.async_wait(use_task);
        sweep(clock::now());
    }
}

void deadline_sweeper::stop() {
    stopped_ = true;
    timer_.cancel();
}

void deadline_sweeper::sweep(clock::time_point now) noexcept {
    for (auto& s : sockets_) {
        // Cancelled on every sweep while overdue, so an operation started late is caught too.
        if (s.deadline_ <= now) {
            s.expired_ = true;
            s.cancel();
        }
    }
}

std::chrono::milliseconds deadline_sweeper::resolution_for(std::chrono::milliseconds shortest) {
    return std::clamp(shortest / 10, std::chrono::milliseconds(5), std::chrono::milliseconds(100));
}

}  // namespace spillway::netx
