#pragma once
// The request head the proxy sends to the backend: client headers minus hop-by-hop ones, plus
// X-Forwarded-* (http/forwarded.hpp, the rule the replay shares), X-Request-Id, the
// Idempotency-Key and a generated traceparent. Built as a plain string so the
// client's parsed request stays untouched for the envelope. (The response head to the client is
// the response writer's: response_writer.hpp.)

#include "spillway/http/forwarded.hpp"
#include "spillway/http/hop_by_hop.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::proxy {

namespace http = boost::beast::http;
using client_request = http::request<http::string_body>;

struct forward_context {
    std::string_view client_ip;
    std::string_view request_id;  // added as X-Request-Id when the client sent none
    std::string_view backend_host;  // Host for HTTP/1.0 clients that sent none
    // A traceparent the proxy generated (trace_context): sent in place of the client's
    // traceparent and tracestate, which were absent or invalid. Empty: they pass unchanged.
    std::string_view traceparent = {};
    // capture.idempotency_header: added with the request id unless the client sent one (the
    // replay sends the same key). Empty: none added.
    std::string_view idempotency_header = {};
    std::string_view scheme = http_util::default_scheme;  // the listener's: X-Forwarded-Proto
    // The protocol the client asked to switch to (http/upgrade.hpp): sent as Upgrade with
    // "Connection: Upgrade", which are otherwise hop-by-hop and dropped. Empty: no upgrade.
    std::string_view upgrade = {};
};

// Appends the HTTP/1.1 request head for the backend to `out` (the body follows it as is).
void build_upstream_request_head(std::string& out, const client_request& req,
                                 const forward_context& ctx);

// Pieces of head text, shared with the response writer.
void append_header(std::string& out, std::string_view name, std::string_view value);
void append_number(std::string& out, std::uint64_t n);
// The header names listed in `fields`' Connection headers, with the hop-by-hop ones.
http_util::connection_filter connection_filter_of(const http::fields& fields);

// The value of X-Request-Id the client sent, if any.
std::optional<std::string_view> client_request_id(const client_request& req);

}  // namespace spillway::proxy
