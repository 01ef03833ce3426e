#include "spillway/proxy/upstream_pool.hpp"

#include "spillway/core/errors.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

#include <sys/socket.h>

namespace spillway::proxy {

namespace {


// Names are resolved again after this long, so a backend that moves (DNS) is followed.
constexpr std::chrono::seconds resolve_ttl{10};

// Whether the backend closed (or reset) this idle connection: a non-blocking peek finds EOF or an
// error, or bytes nobody asked for. Costs one syscall and spares a request a dead connection.
bool closed_by_peer(upstream_connection& c) {
    if (c.buffer.size() != 0) {
        return true;  // unsolicited bytes: the connection is out of step
    }
    char probe;
    ssize_t n = ::recv(c.stream.socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

upstream_pool::upstream_pool(netx::deadline_sweeper& sweeper, const config::backend_config& cfg,
                             const config::host_port& address, pool_gauges& gauges)
    : sweeper_(sweeper), cfg_(cfg), address_(address), gauges_(gauges) {}

task<boost::system::error_code> upstream_pool::resolve() {
    const auto now = std::chrono::steady_clock::now();
    if (!endpoints_.empty() && (address_is_literal_ || now - resolved_at_ < resolve_ttl)) {
        co_return boost::system::error_code{};
    }
    boost::system::error_code ec;
    auto address = net::ip::make_address(address_.host, ec);
    if (!ec) {
        endpoints_ = {net::ip::tcp::endpoint(address, address_.port)};
        address_is_literal_ = true;
        co_return ec;
    }
    net::ip::basic_resolver<net::ip::tcp, netx::executor> resolver(sweeper_.get_executor());
    auto [rec, results] = co_await resolver.async_resolve(
        address_.host, std::to_string(address_.port), netx::use_task);
    if (rec) {
        co_return rec;
    }
    endpoints_.clear();
    for (const auto& r : results) {
        endpoints_.push_back(r.endpoint());
    }
    resolved_at_ = now;
    co_return boost::system::error_code{};
}

task<acquire_result> upstream_pool::acquire() {
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
        upstream_ptr c = std::move(idle_.back());
        idle_.pop_back();
        publish_idle();
        if (now - c->idle_since >= cfg_.pool_idle_timeout || closed_by_peer(*c)) {
            ++stats_.stale;
            continue;
        }
        ++stats_.reuses;
        co_return acquire_result{{}, std::move(c)};
    }
    co_return co_await connect();
}

task<acquire_result> upstream_pool::connect() {
    const auto resolved = co_await resolve();
    if (resolved) {
        pool_gauges::bump(gauges_.connect_errors);
        co_return acquire_result{resolved, nullptr};
    }
    pool_gauges::add(gauges_.open, 1);  // until the connection is destroyed, however it ends
    auto c = std::make_unique<upstream_connection>(sweeper_, gauges_);
    c->stream.expires_after(cfg_.connect_timeout);
    auto [cec, endpoint] = co_await net::async_connect(c->stream.socket(), endpoints_,
                                                       netx::use_task);
    auto ec = c->stream.translate(cec);
    if (ec == beast::error::timeout) {
        ec = core::errc::connect_timeout;
    }
    if (ec) {
        pool_gauges::bump(gauges_.connect_errors);
        co_return acquire_result{ec, nullptr};
    }
    c->stream.socket().set_option(net::ip::tcp::no_delay(true), ec);
    ++stats_.connects;
    pool_gauges::bump(gauges_.connects);
    co_return acquire_result{{}, std::move(c)};
}

void upstream_pool::release(upstream_ptr connection) {
    if (idle_.size() >= cfg_.pool_max_idle) {
        return;  // the pool is full: this connection closes as it goes out of scope
    }
    connection->stream.expires_never();
    connection->idle_since = std::chrono::steady_clock::now();
    idle_.push_back(std::move(connection));
    publish_idle();
}

void upstream_pool::close_idle() {
    idle_.clear();
    publish_idle();
}

}  // namespace spillway::proxy
