#pragma once
// What the proxy does with a request the backend could not take (DESIGN.md "Capture"): the
// capture handler (capture/capture_handler.hpp) stores it durably and answers 503 "queued".
// Called before any byte of a response reached the client.

#include "spillway/config/config.hpp"
#include "spillway/core/failure.hpp"
#include "spillway/net/timed_socket.hpp"
#include "spillway/proxy/request_record.hpp"
#include "spillway/proxy/response_writer.hpp"

namespace spillway::proxy {

class failure_handler {
public:
    virtual ~failure_handler() = default;

    // Decides the client's answer to a failed request; records `queued` in `record` when it
    // stores the request. `capture` is the capture.* of the configuration the request started
    // with (a reload may have changed it since). Must not block the calling (I/O) thread.
    virtual netx::task<client_response> handle(const client_request& req,
                                               const core::failure& failure, request_record& record,
                                               const config::capture_config& capture) = 0;
};

// A small JSON response of the proxy's own (errors, health).
client_response make_json_response(http::status status, std::string body, unsigned version,
                                   bool keep_alive);

// Out of its own resources, the proxy says so and asks for a retry soon: such an episode lasts
// until connections end, usually seconds.
inline constexpr unsigned overloaded_retry_after_s = 1;

// 503 {"error":"overloaded","request_id":"..."} with Retry-After and X-Request-Id; the
// connection closes after it. Not captured: nothing failed on the backend's side.
client_response overloaded_response(std::string_view request_id, unsigned version);

}  // namespace spillway::proxy
