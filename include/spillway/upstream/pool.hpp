#pragma once
// Keep-alive connections to one backend endpoint, one pool per worker thread and endpoint (no
// locks: a pool and its connections live on their worker's executor). Idle connections are reused newest first and
// checked for a close by the backend before reuse, so a stale connection is not handed out.

#include "spillway/config/config.hpp"
#include "spillway/net/timed_socket.hpp"
#include "spillway/upstream/pool_gauges.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace spillway::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
using netx::task;

struct connection {
    connection(netx::deadline_sweeper& sweeper, pool_gauges& g) : stream(sweeper), gauges(g) {}
    ~connection() { pool_gauges::add(gauges.open, -1); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    netx::timed_socket stream;
    beast::flat_buffer buffer;  // bytes read past the previous response stay here
    std::chrono::steady_clock::time_point idle_since;
    std::uint64_t requests = 0;  // requests sent on this connection so far
    pool_gauges& gauges;         // its pool's (counted open from connect to destruction)
};

using connection_ptr = std::unique_ptr<connection>;

struct acquire_result {
    boost::system::error_code error;  // connect failure (refused, unreachable, timeout)
    connection_ptr connection;
};

class connection_pool {
public:
    // `address`: the endpoint; `gauges`: this worker's gauges of it, for /metrics.
    connection_pool(netx::deadline_sweeper& sweeper, const config::backend_config& cfg,
                    const config::host_port& address, pool_gauges& gauges);

    // An idle connection if one is alive, else a new one (bounded by connect_timeout).
    task<acquire_result> acquire();

    // A new connection, never a pooled one.
    task<acquire_result> connect();

    // Returns a connection whose last response was read whole and that may be kept alive.
    void release(connection_ptr connection);

    // Closes every idle connection (shutdown).
    void close_idle();

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
    std::vector<connection_ptr> idle_;
};

}  // namespace spillway::upstream
