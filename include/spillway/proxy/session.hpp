#pragma once
// One client connection, as a coroutine that owns its socket: read a request (with the header
// and body limits and timeouts), answer it (health, rate limit, forward, or failure handler),
// repeat while the connection is kept alive. Pipelined requests are answered in order because
// the next one is read only after the previous answer was written. The phases work on the
// client's stream type (client_stream.hpp), so TLS adds a stream, not a phase.

#include "spillway/config/config.hpp"
#include "spillway/http/body_budget.hpp"
#include "spillway/metrics/metrics.hpp"
#include "spillway/net/timed_socket.hpp"
#include "spillway/proxy/failure_handler.hpp"
#include "spillway/proxy/forwarder.hpp"
#include "spillway/proxy/snapshot.hpp"
#include "spillway/proxy/tls_server_context.hpp"

#include <boost/intrusive/list.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string_view>

namespace spillway::proxy {

// A live session, linked into its worker's list so shutdown can wake the idle ones.
struct session_handle : boost::intrusive::list_base_hook<> {
    netx::timed_socket* stream = nullptr;  // the deadline layer of the client's stream
    bool idle = true;  // waiting for the next request, not inside one
};

// The proxy's own metrics (spillway_requests_total, spillway_open_connections, ...).
struct proxy_counters {
    std::atomic<std::uint64_t> requests_proxied{0};
    std::atomic<std::uint64_t> requests_captured{0};
    std::atomic<std::uint64_t> requests_rejected{0};
    std::atomic<std::uint64_t> requests_local{0};
    std::atomic<std::uint64_t> requests_aborted{0};
    std::atomic<std::uint64_t> connections_refused{0};  // over limits.max_connections
    std::atomic<std::uint64_t> rate_limited{0};  // answered 429 (also counted as rejected)
    // Answered 503 "overloaded" (also counted as rejected): the bodies held at once would pass
    // limits.max_buffered_bytes, or the proxy had no descriptor (or memory) for the backend
    // connection.
    std::atomic<std::uint64_t> overloaded{0};
    std::atomic<std::uint64_t> accept_pauses{0};  // out-of-descriptor episodes of the listeners
    // Failures of the proxy itself inside a connection (an exception): the connection ended.
    std::atomic<std::uint64_t> internal_errors{0};
    std::atomic<std::int64_t> open_connections{0};
    tunnel_counters tunnels;  // upgrade requests (WebSocket) and their tunnels
    // The TLS listener's handshakes: done, and failed by reason (tls_handshake_failure).
    std::atomic<std::uint64_t> tls_handshakes{0};
    std::array<std::atomic<std::uint64_t>, tls_handshake_failure_count> tls_handshake_errors{};
    metrics::histogram upstream_duration;  // request sent -> response head, or failure
};

// What one worker serves requests with under one snapshot: its configuration, and a forwarder
// with this worker's pools to the snapshot's endpoints. A request holds the view it started with
// until it ends; the next request takes the worker's newest.
struct worker_view {
    worker_view(std::shared_ptr<const snapshot> s, netx::deadline_sweeper& sweeper, unsigned worker,
                metrics::histogram& upstream_duration);

    std::shared_ptr<const snapshot> snap;
    const config::config& cfg;  // *snap->cfg
    forwarder forward;
};

// What a worker's sessions share: all of it is touched only on that worker's thread, except
// the atomics.
struct worker_state {
    // `worker`: this worker's number, 0-based (its slot in the endpoints' pool gauges).
    worker_state(netx::executor ex, std::shared_ptr<const snapshot> initial,
                 failure_handler& handler, proxy_counters& counters, unsigned worker);

    // Serves the next requests under `next` (a reload); on this worker's thread. The previous
    // view's idle backend connections close now, those in use when their request ends.
    void adopt(std::shared_ptr<const snapshot> next);

    // The newest configuration (a request in flight may hold an older one).
    const config::config& cfg() const { return view->cfg; }

    unsigned index;
    netx::deadline_sweeper sweeper;
    failure_handler& on_failure;
    proxy_counters& counters;
    std::shared_ptr<worker_view> view;  // the newest
    boost::intrusive::list<session_handle> sessions;
    bool stopping = false;  // no new requests on kept-alive connections
    http_util::body_budget* body_budget = nullptr;  // shared by every worker
    tls_server_context* tls = nullptr;  // shared by every worker; null on a plain listener
};

// Once the server stops, how long a kept-alive connection may still send its next request (it is
// answered with Connection: close): a client that got a keep-alive answer just before the stop
// may be sending it now, and closing under it would lose it.
inline constexpr std::chrono::milliseconds stopping_idle_grace{1000};

// Counts and logs a failure of the proxy itself (spillway_internal_errors_total); `where` says
// what it ended (a request, a session, a worker's event loop).
void note_internal_error(proxy_counters& counters, std::exception_ptr error,
                         std::string_view where);

// Serves one accepted connection until it closes.
task<void> run_session(netx::tcp_socket socket, worker_state& worker);

}  // namespace spillway::proxy
