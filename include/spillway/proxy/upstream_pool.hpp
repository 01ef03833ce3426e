#pragma once
// Keep-alive connections to one backend endpoint, one pool per worker thread and endpoint (no
// locks: a pool and its connections live on their worker's executor). Idle connections are reused newest first and
// checked for a close by the backend before reuse, so a stale connection is not handed out.

#include "spillway/config/config.hpp"
#include "spillway/proxy/backend_endpoint.hpp"

#include "spillway/net/timed_socket.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace spillway::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
using netx::task;

struct upstream_connection {
    upstream_connection(netx::deadline_sweeper& sweeper, pool_gauges& g) : stream(sweeper), gauges(g) {}
    ~upstream_connection() { pool_gauges::add(gauges.open, -1); }
    upstream_connection(const upstream_connection&) = delete;
    upstream_connection& operator=(const upstream_connection&) = delete;

    netx::timed_socket stream;
    beast::flat_buffer buffer;  // bytes read past the previous response stay here
    std::chrono::steady_clock::time_point idle_since;
    std::uint64_t requests = 0;  // requests sent on this connection so far
    pool_gauges& gauges;         // its pool's (counted open from connect to destruction)
};

using upstream_ptr = std::unique_ptr<upstream_connection>;

struct acquire_result {
    boost::system::error_code error;  // connect failure (refused, unreachable, timeout)
    upstream_ptr connection;
};

struct pool_stats {
    std::uint64_t connects = 0;   // new connections opened
    std::uint64_t reuses = 0;     // requests sent on a pooled connection
    std::uint64_t stale = 0;      // pooled connections found closed by the backend
};

class upstream_pool {
public:
    // `address`: the endpoint; `gauges`: this worker's gauges of it, for /metrics.
    upstream_pool(netx::deadline_sweeper& sweeper, const config::backend_config& cfg,
                  const config::host_port& address, pool_gauges& gauges);

    // An idle connection if one is alive, else a new one (bounded by connect_timeout).
    task<acquire_result> acquire();

    // A new connection, never a pooled one.
    task<acquire_result> connect();

    // Returns a connection whose last response was read whole and that may be kept alive.
    void release(upstream_ptr connection);

    // Closes every idle connection (shutdown).
    void close_idle();

    std::size_t idle_count() const { return idle_.size(); }
    const pool_stats& stats() const { return stats_; }

private:
    task<boost::system::error_code> resolve();

    netx::deadline_sweeper& sweeper_;
    void publish_idle() { gauges_.idle.store(static_cast<std::uint32_t>(idle_.size()),
                                             std::memory_order_relaxed); }

    const config::backend_config& cfg_;
    const config::host_port& address_;
    pool_gauges& gauges_;
    std::vector<net::ip::tcp::endpoint> endpoints_;
    std::chrono::steady_clock::time_point resolved_at_;
    bool address_is_literal_ = false;  // an IP address: never resolved again
    std::vector<upstream_ptr> idle_;
    pool_stats stats_;
};

}  // namespace spillway::proxy
