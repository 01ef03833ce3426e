#pragma once
// One vocabulary for what went wrong with a proxied request: used by the capture policy, the
// envelope's `failure` object and the access log.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::core {

enum class failure_kind {
    connect_error,  // refused, unreachable, connect timeout: nothing reached the backend
    timeout,  // no response headers within backend.response_timeout_ms
    upstream_status,  // the backend answered with a status listed in capture.on
    upstream_reset,  // the connection closed before a complete response head
    circuit_open,  // the circuit breaker is open; the backend was not tried
};

struct failure {
    failure_kind kind = failure_kind::connect_error;
    std::optional<unsigned> status;  // the backend's status, for upstream_status only
    bool sent_upstream = false;  // whether any byte of the request reached the backend
    std::string detail;  // human-readable cause, e.g. "Connection refused"
};

// The envelope's name of a failure kind: "connect_error", "timeout", ...
std::string_view to_string(failure_kind kind);
std::optional<failure_kind> failure_kind_from_string(std::string_view name);

// The access log's short code (Envoy-style response flags): UF, UT, US, UR, UO.
std::string_view access_code(failure_kind kind);

}  // namespace spillway::core
