#pragma once
// Rebuilds the original request from an envelope, for the configured backend only. Nothing in a
// message may make the replay send something other than that one request: names and values that
// would split or smuggle a message, a method that is not a token and a target that is not
// origin-form are refused (the message is dead-lettered with the returned reason).
//
// What is sent: the method, the uri, the headers in order with duplicates and names as captured
// (Host included: the backend sees the Host the client asked for), the decoded body with our own
// Content-Length, `Idempotency-Key: <id>` unless the request had one, and
// `X-Spillway-Replay-Attempt: <n>`. Framing and hop-by-hop headers (Content-Length,
// Transfer-Encoding, Connection and what it names, Keep-Alive, TE, Upgrade, ...) and Expect are
// left out: the replay owns the connection and sends the body whole. A request without Host gets
// the backend's host:port. Always HTTP/1.1 (keep-alive to the backend).

#include "spillway/envelope/envelope.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace spillway::replay {

struct outgoing_request {
    std::string method;
    std::string target;
    envelope::header_list headers;  // in order, without the ones the replay adds or removes
    std::string body;
    std::string idempotency_key;  // the value sent (the client's own, or the envelope's id)
};

struct rejection {
    std::string reason;
};

// Validates and rebuilds. `default_host` is used when the envelope has no Host header.
std::variant<outgoing_request, rejection> build_request(const envelope::envelope& e,
                                                        std::string_view default_host);

// Appends the request head exactly as it goes on the wire: the request line (HTTP/1.1), the
// headers in order, `X-Spillway-Replay-Attempt: <attempt>`, and Content-Length when there is a
// body or the method carries one (POST, PUT, PATCH), then the empty line. Written as one string,
// not through Beast's fields, because this is the replay's per-message hot path: a fields
// container allocates once per header.
void append_wire_head(std::string& out, const outgoing_request& r, unsigned attempt);

// The checks, exposed for tests and for --tail.
bool is_field_value(std::string_view s);
bool is_origin_form(std::string_view target);

}  // namespace spillway::replay
