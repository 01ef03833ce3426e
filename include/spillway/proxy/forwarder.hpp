#pragma once
// Sends one buffered client request to the backend and streams the response back. The phases,
// in order: choose an endpoint (round-robin over those whose circuit admits a request), acquire
// a connection (pooled or new), send the request, read the response head, decide (capture-worthy
// failure or not), relay the body. A failure moves on to the next endpoint when the backend
// cannot have acted on the request (nothing was sent) or the method is idempotent; so a
// non-idempotent request never reaches two endpoints. A failure is returned, not answered, when
// nothing has reached the client yet, so the failure handler can still capture it.

#include "spillway/metrics/metrics.hpp"
#include "spillway/config/config.hpp"
#include "spillway/core/failure.hpp"
#include "spillway/proxy/backend_endpoint.hpp"
#include "spillway/proxy/message_heads.hpp"
#include "spillway/proxy/request_record.hpp"
#include "spillway/upstream/pool.hpp"

#include <bitset>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spillway::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
using netx::task;

class forwarder {
public:
    // One pool per endpoint for the worker numbered `worker` (its gauges in the endpoint).
    forwarder(netx::deadline_sweeper& sweeper, backend_endpoints& endpoints, unsigned worker,
              const config::config& cfg, bool capture_statuses,
              metrics::histogram& upstream_duration);

    struct result {
        std::optional<core::failure> failure;  // set: nothing was written to the client
        bool client_keep_alive = true;         // false: the client connection must close
    };

    // `scratch` is the session's reusable buffer for the heads the proxy writes (one
    // allocation per connection, not per request).
    // `record.upstream` names the endpoint of the answer, or of the last failure.
    task<result> forward(netx::timed_socket& client, const client_request& req,
                         request_record& record, bool keep_alive, std::string& scratch);

    // Closes the idle connections of every pool (shutdown).
    void close_idle();

private:
    struct route {  // one endpoint, with this worker's pool to it
        backend_endpoint& endpoint;
        upstream::connection_pool pool;
    };
    struct exchange;  // one request/response on one upstream connection
    task<std::optional<core::failure>> send_and_read_head(exchange& x, upstream::connection_pool& pool);
    task<result> relay(netx::timed_socket& client, exchange& x, upstream::connection_pool& pool,
                       request_record& record, bool keep_alive);
    core::failure circuit_open_failure() const;

    std::vector<std::unique_ptr<route>> routes_;
    std::size_t next_ = 0;  // round-robin cursor over routes_
    const config::config& cfg_;
    std::bitset<600> capture_on_;   // statuses that count as failures
    metrics::histogram& upstream_duration_;
};

}  // namespace spillway::proxy
