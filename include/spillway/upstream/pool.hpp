#pragma once
// Keep-alive connections to one backend endpoint. The proxy has one pool per worker thread and
// endpoint, the replay one in all (no locks: a pool and its connections live on one executor).
// Idle connections are reused newest first and checked before reuse (is_stale), so a connection
// the backend closed while it was idle is not handed out.

#include "spillway/config/config.hpp"
#include "spillway/net/timed_socket.hpp"
#include "spillway/upstream/backend_stream.hpp"
#include "spillway/upstream/dns_cache.hpp"
#include "spillway/upstream/pool_gauges.hpp"
#include "spillway/upstream/response_head.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/intrusive/list.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace spillway::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
using netx::task;

using pool_hook =
    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

struct connection {
    connection(netx::deadline_sweeper& sweeper, pool_gauges& g) : stream(sweeper), gauges(g) {}
    ~connection() { pool_gauges::add(gauges.open, -1); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    backend_stream stream;  // TLS over TCP for an https endpoint, its handshake done
    // Bytes read past the previous response stay here. Bounded: a hostile backend's endless line
    // fails the read instead of growing it.
    beast::flat_buffer buffer{max_response_framing_bytes};
    std::chrono::steady_clock::time_point idle_since;
    std::uint64_t requests = 0;  // requests sent on this connection so far
    pool_gauges& gauges;  // its pool's (counted open from connect to destruction)
    pool_hook in_pool;  // in its pool's list of every connection it made, until destroyed
};

using connection_ptr = std::unique_ptr<connection>;

struct acquire_result {
    boost::system::error_code error;  // connect failure (refused, unreachable, timeout)
    connection_ptr connection;
    // The proxy could not even make a socket (EMFILE, ENFILE, ENOBUFS, ENOMEM): its own
    // shortage, not the backend's failure, and not counted as a connect error.
    bool local = false;
};

class tls_client_context;

class connection_pool {
public:
    // `address`: the endpoint; `gauges`: this pool's gauges, for /metrics. The pool keeps up to
    // cfg.pool_max_idle idle connections, or `max_idle`. All three must outlive the pool.
    connection_pool(netx::deadline_sweeper& sweeper, const config::backend_config& cfg,
                    const config::host_port& address, pool_gauges& gauges);
    connection_pool(netx::deadline_sweeper& sweeper, const config::backend_config& cfg,
                    const config::host_port& address, pool_gauges& gauges, std::size_t max_idle);

    // An idle connection if one is alive, else a new one (bounded by connect_timeout, which
    // covers the TLS handshake of an https endpoint too: a failed one is a connect failure).
    task<acquire_result> acquire();

    // A new connection, never a pooled one.
    task<acquire_result> connect();

    // Takes back a connection whose last response was read whole and that may be kept alive.
    // One with unread bytes in its buffer is closed instead: it would be out of step.
    void release(connection_ptr connection);

    // Closes every idle connection (the proxy's shutdown: requests in flight go on).
    void close_idle();

    // Keeps no idle connection from now on (a reload replaced the pool): the idle ones close, and
    // so does each one released later. Connections lent out go on.
    void retire();

    // Closes the pool for good (the replay's shutdown): every connection it made, idle, being
    // connected or lent out, is closed, so what is in progress on it completes with
    // operation_aborted; later acquires fail the same way and released connections are closed.
    void close();

private:
    task<boost::system::error_code> secure(connection& c);

    void publish_idle() {
        gauges_.idle.store(static_cast<std::uint32_t>(idle_.size()), std::memory_order_relaxed);
    }

    using connection_list = boost::intrusive::list<
        connection, boost::intrusive::member_hook<connection, pool_hook, &connection::in_pool>,
        boost::intrusive::constant_time_size<false>>;

    netx::deadline_sweeper& sweeper_;
    const config::backend_config& cfg_;
    std::size_t max_idle_;
    pool_gauges& gauges_;
    const config::host_port& address_;
    dns_cache dns_;
    // An https endpoint: the process's client context (null when it could not be made: every
    // connect then fails, and start-up said why), and the name its certificate must carry.
    bool tls_;
    std::shared_ptr<tls_client_context> tls_context_;
    std::string tls_peer_name_;
    std::chrono::steady_clock::time_point last_tls_warning_{};
    std::vector<connection_ptr> idle_;
    connection_list connections_;  // every live connection this pool made (for close())
    bool closed_ = false;
};

}  // namespace spillway::upstream
