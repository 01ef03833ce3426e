#pragma once
// TCP sockets with coarse deadlines, and the per-worker sweeper that enforces them.
//
// Why not beast::tcp_stream: it arms a steady_timer for every read and write, and type-erases
// its executor; on a proxy's hot path (four socket operations per request) the timers and the
// executor's type erasure together took about 6% of the profile's samples. Here a deadline is one
// store, and one coroutine per worker cancels the sockets whose deadline has passed, a few times
// per shortest configured timeout (nginx keeps its timers in a tree for the same reason). An
// operation cancelled that way completes with operation_aborted, which translate() turns into
// beast::error::timeout.

#include "spillway/net/task.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <utility>

namespace spillway::netx {

namespace net = boost::asio;

using tcp_socket = net::basic_stream_socket<net::ip::tcp, executor>;
using tcp_acceptor = net::basic_socket_acceptor<net::ip::tcp, executor>;

using clock = std::chrono::steady_clock;
using auto_unlink_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

class deadline_sweeper;

class timed_socket : public auto_unlink_hook {
public:
    using executor_type = executor;
    // For a stream layered on this one (Asio's ssl::stream asks its next layer for these).
    using lowest_layer_type = tcp_socket;

    timed_socket(tcp_socket socket, deadline_sweeper& sweeper);
    explicit timed_socket(deadline_sweeper& sweeper);

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    tcp_socket& socket() noexcept { return socket_; }
    tcp_socket& lowest_layer() noexcept { return socket_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return socket_.async_read_some(buffers, std::forward<Token>(token));
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return socket_.async_write_some(buffers, std::forward<Token>(token));
    }

    void expires_after(clock::duration d) noexcept {
        deadline_ = clock::now() + d;
        expired_ = false;
    }
    void expires_never() noexcept {
        deadline_ = clock::time_point::max();
        expired_ = false;
    }

    // operation_aborted caused by the deadline becomes beast::error::timeout.
    boost::system::error_code translate(boost::system::error_code ec) const noexcept;

    void cancel() noexcept {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
    }

private:
    friend class deadline_sweeper;

    tcp_socket socket_;
    clock::time_point deadline_ = clock::time_point::max();
    bool expired_ = false;
};

// One per worker: run() sweeps the worker's sockets every `resolution` until stop().
class deadline_sweeper {
public:
    deadline_sweeper(executor ex, std::chrono::milliseconds resolution);

    void add(timed_socket& s) noexcept { sockets_.push_back(s); }
    executor get_executor() noexcept { return timer_.get_executor(); }
    task<void> run();
    void stop();
    // From the next sweep on (a reload changed the timeouts); on the sweeper's executor.
    void set_resolution(std::chrono::milliseconds resolution) noexcept { resolution_ = resolution; }

    // A resolution fine enough for the shortest of these timeouts (a tenth, within 5..100 ms).
    static std::chrono::milliseconds resolution_for(std::chrono::milliseconds shortest);

private:
    void sweep(clock::time_point now) noexcept;

    boost::intrusive::list<timed_socket, boost::intrusive::constant_time_size<false>> sockets_;
    steady_timer timer_;
    std::chrono::milliseconds resolution_;
    bool stopped_ = false;
};

}  // namespace spillway::netx
