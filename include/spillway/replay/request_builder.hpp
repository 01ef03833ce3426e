#pragma once
// Rebuilds the original request from an envelope, for the configured backend only. Nothing in a
// message may make the replay send something other than that one request: names and values that
// would split or smuggle a message, a method that is not a token and a target that is not
// origin-form are refused (the message is dead-lettered with the returned reason).
//
// What is sent: the method, the uri, the headers in order with duplicates and names as captured
// (Host included: the backend sees the Host the client asked for), the decoded body with our own
// Content-Length, X-Forwarded-For, -Proto and -Host as the live attempt sent them (derived by
// http/forwarded.hpp from the envelope's client_ip, scheme, Host and the client's own
// X-Forwarded-For; the client's X-Forwarded-Proto and -Host are never sent),
// `<capture.idempotency_header>: <id>` unless the request had one (none when that is empty), and
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
                                  // empty when capture.idempotency_header is ""
};

struct rejection {
    std::string reason;
};

inline constexpr std::string_view default_idempotency_header = "Idempotency-Key";

// Validates and rebuilds. `default_host` is used when the envelope has no Host header;
// `idempotency_header` is capture.idempotency_header, the name the live attempt used.
std::variant<outgoing_request, rejection> build_request(
    const envelope::envelope& e, std::string_view default_host,
    std::string_view idempotency_header = default_idempotency_header);

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
