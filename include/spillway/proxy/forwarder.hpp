#pragma once
// Sends one buffered client request to the backend and streams the response back. What to do
// next is decided by the failure policy (failure_policy.hpp: which endpoint, a new connection,
// relay, capture or abort); the forwarder carries out its actions: the circuit's admission, the
// pool, the writes and reads, the circuit's verdict. A failure is returned, not answered, when
// nothing has reached the client yet, so the failure handler can still capture it.

#include "spillway/config/config.hpp"
#include "spillway/core/failure.hpp"
#include "spillway/metrics/metrics.hpp"
#include "spillway/proxy/backend_endpoint.hpp"
#include "spillway/proxy/client_stream.hpp"
#include "spillway/proxy/failure_policy.hpp"
#include "spillway/proxy/message_heads.hpp"
#include "spillway/proxy/request_record.hpp"
#include "spillway/proxy/tunnel.hpp"
#include "spillway/upstream/pool.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spillway::proxy {

class forwarder {
public:
    // One pool per endpoint for the worker numbered `worker` (its gauges in the endpoint).
    forwarder(netx::deadline_sweeper& sweeper, const backend_endpoints& endpoints, unsigned worker,
              const config::config& cfg, metrics::histogram& upstream_duration);

    struct result {
        std::optional<core::failure> failure;  // set: nothing was written to the client
        bool client_keep_alive = true;  // false: the client connection must close
        // The proxy had no descriptor (or memory) for a backend connection: answer 503
        // overloaded; not a failure of the backend, not captured.
        bool overloaded = false;
    };

    // `scratch` is the session's reusable buffer for the heads the proxy writes (one
    // allocation per connection, not per request).
    // `record.upstream` names the endpoint of the answer, or of the last failure.
    // Instantiated in forwarder.cpp for each client stream (client_stream.hpp).
    template <client_stream Stream>
    task<result> forward(Stream& client, const client_request& req, request_record& record,
                         bool keep_alive, std::string& scratch);

    // What became of an upgrade request (http/upgrade.hpp).
    struct upgrade_result {
        enum class how : std::uint8_t {
            tunneled,  // 101 relayed, then the tunnel ran to its end; the connection closes
            declined,  // the backend's other answer was relayed, as any response
            failed,  // nothing was answered: `failure` says why (the session answers 502)
            overloaded,  // no descriptor for the backend connection (the session answers 503)
        } outcome = how::failed;
        std::optional<core::failure> failure;
        bool client_keep_alive = false;
    };

    // Forwards a request that asks to switch protocols to `protocol`, on a new backend
    // connection (round-robin over the endpoints whose circuit admits it), and tunnels after a
    // 101: `client_buffer` holds what the client sent past its request. Never captured: a
    // failure before the 101 is returned for a 502, not stored (an upgrade cannot be replayed).
    template <client_stream Stream>
    task<upgrade_result> upgrade(Stream& client, beast::flat_buffer& client_buffer,
                                 const client_request& req, std::string_view protocol,
                                 request_record& record, bool keep_alive, std::string& scratch,
                                 tunnel_counters& tunnels);

    // Closes the idle connections of every pool (shutdown).
    void close_idle();

    // A reload replaced this forwarder: its idle connections close now, and the connections its
    // requests in flight give back close instead of waiting idle.
    void retire();

private:
    struct route {  // one endpoint, with this worker's pool to it
        backend_endpoint& endpoint;
        upstream::connection_pool pool;
    };
    std::string circuit_open_detail() const;
    void warn_overloaded(const request_record& record, const backend_endpoint& endpoint,
                         const boost::system::error_code& ec);

    std::vector<std::unique_ptr<route>> routes_;
    std::size_t next_ = 0;  // round-robin cursor over routes_
    const config::config& cfg_;
    failure_rules rules_;
    metrics::histogram& upstream_duration_;
    std::chrono::steady_clock::time_point last_overload_warning_{};
    std::uint64_t overloaded_unwarned_ = 0;  // overloaded answers since the last warning
};

extern template task<forwarder::result> forwarder::forward(netx::timed_socket&,
                                                           const client_request&, request_record&,
                                                           bool, std::string&);
extern template task<forwarder::upgrade_result> forwarder::upgrade(
    netx::timed_socket&, beast::flat_buffer&, const client_request&, std::string_view,
    request_record&, bool, std::string&, tunnel_counters&);

}  // namespace spillway::proxy
