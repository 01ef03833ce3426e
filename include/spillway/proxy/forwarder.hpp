#pragma once
// Sends one buffered client request to the backend and streams the response back. The phases,
// in order: acquire a connection (pooled or new), send the request, read the response head,
// decide (capture-worthy failure or not), relay the body. A failure is returned, not answered,
// when nothing has reached the client yet, so the failure handler can still capture it.

#include "spillway/admin/metrics.hpp"
#include "spillway/config/config.hpp"
#include "spillway/core/failure.hpp"
#include "spillway/proxy/message_heads.hpp"
#include "spillway/proxy/request_record.hpp"
#include "spillway/proxy/upstream_pool.hpp"


#include <bitset>
#include <optional>
#include <string>

namespace spillway::proxy {

class forwarder {
public:
    forwarder(upstream_pool& pool, const config::config& cfg, bool capture_statuses,
              admin::histogram& upstream_duration);

    struct result {
        std::optional<core::failure> failure;  // set: nothing was written to the client
        bool client_keep_alive = true;         // false: the client connection must close
    };

    // `scratch` is the session's reusable buffer for the heads the proxy writes (one
    // allocation per connection, not per request).
    task<result> forward(netx::timed_socket& client, const client_request& req,
                         request_record& record, bool keep_alive, std::string& scratch);

private:
    struct exchange;  // one request/response on one upstream connection
    task<std::optional<core::failure>> send_and_read_head(exchange& x);
    task<result> relay(netx::timed_socket& client, exchange& x, request_record& record,
                       bool keep_alive);

    upstream_pool& pool_;
    const config::config& cfg_;
    std::bitset<600> capture_on_;   // statuses that count as failures
    std::string backend_host_;      // host:port, for HTTP/1.0 requests without Host
    admin::histogram& upstream_duration_;
};

}  // namespace spillway::proxy
