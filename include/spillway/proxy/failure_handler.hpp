#pragma once
// What the proxy does with a request the backend could not take (DESIGN.md "Capture"): the
// capture handler stores it durably and answers 503 "queued"; without capture a gateway error is
// answered. Called before any byte of a response reached the client.

#include "spillway/core/failure.hpp"
#include "spillway/proxy/message_heads.hpp"
#include "spillway/proxy/request_record.hpp"

#include "spillway/net/timed_socket.hpp"

#include <boost/beast/http/string_body.hpp>

namespace spillway::proxy {

using client_response = http::response<http::string_body>;

class failure_handler {
public:
    virtual ~failure_handler() = default;

    // Decides the client's answer to a failed request; records `queued` in `record` when it
    // stores the request. Must not block the calling (I/O) thread.
    virtual netx::task<client_response> handle(const client_request& req,
                                               const core::failure& failure,
                                               request_record& record) = 0;
};

// Answers 502 Bad Gateway (504 Gateway Timeout for timeouts) with a JSON error, storing nothing:
// the proxy's behaviour when capture is turned off.
class gateway_error_handler final : public failure_handler {
public:
    netx::task<client_response> handle(const client_request& req, const core::failure& failure,
                                       request_record& record) override;
};

// A small JSON response of the proxy's own (errors, health).
client_response make_json_response(http::status status, std::string body, unsigned version,
                                   bool keep_alive);

}  // namespace spillway::proxy
