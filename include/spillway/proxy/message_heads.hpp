#pragma once
// The heads a proxy writes itself: the request head sent to the backend (client headers minus
// hop-by-hop ones, plus X-Forwarded-*, X-Request-Id and a generated traceparent) and the
// response head sent back to the client (backend headers minus hop-by-hop ones, framing chosen
// for the client). Built as plain strings so the client's parsed request stays untouched for the
// envelope.

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
    std::string_view request_id;      // added as X-Request-Id when the client sent none
    std::string_view backend_host;    // Host for HTTP/1.0 clients that sent none
    // A traceparent the proxy generated (trace_context): sent in place of the client's
    // traceparent and tracestate, which were absent or invalid. Empty: they pass unchanged.
    std::string_view traceparent = {};
};

// Appends the HTTP/1.1 request head for the backend to `out` (the body follows it as is).
void build_upstream_request_head(std::string& out, const client_request& req,
                                 const forward_context& ctx);

// How the response body travels to the client.
enum class body_framing {
    none,             // HEAD, 1xx, 204, 304: no body
    content_length,   // the backend's Content-Length is kept
    chunked,          // re-chunked for an HTTP/1.1 client
    until_close,      // HTTP/1.0 client and no length: the body ends when we close
};

body_framing choose_framing(const http::response_header<>& res, bool head_request,
                            std::optional<std::uint64_t> content_length, bool client_http11);

// Appends the response head for the client to `out`: the status line, the backend's end-to-end
// headers, the framing header and the connection's keep-alive decision.
void build_client_response_head(std::string& out, const http::response_header<>& res,
                                body_framing framing, std::optional<std::uint64_t> content_length,
                                bool keep_alive, bool client_http11);

// Appends a response the proxy made itself (a "queued" answer, a 502/504, a 4xx), head and
// body: its fields are the proxy's own, Content-Length and Connection included, so they are
// written as they are, with the message's HTTP version. Hand-written because these answers are
// the failure path's hot spot, and Beast's serializer cost more than the bytes it wrote.
void serialize_local_response(std::string& out, const http::response<http::string_body>& res);

// The value of X-Request-Id the client sent, if any.
std::optional<std::string_view> client_request_id(const client_request& req);

}  // namespace spillway::proxy
