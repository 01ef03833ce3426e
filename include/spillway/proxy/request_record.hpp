#pragma once
// What the proxy knows about one request as it goes through its phases; the final phase writes
// it to the access log, whatever happened.

#include "spillway/core/failure.hpp"
#include "spillway/core/ids.hpp"
#include "spillway/http/forwarded.hpp"
#include "spillway/proxy/trace_context.hpp"

#include <boost/beast/http/fields.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace spillway::proxy {

enum class request_outcome {
    proxied,  // the backend's response went to the client
    captured,  // the backend could not take it; the failure handler answered (queued or not)
    rejected,  // refused by the proxy itself: malformed, too large, timed out, rate limited
    local,  // answered by the proxy itself (health check)
    aborted,  // the client or the backend went away mid-response
};

std::string_view to_string(request_outcome outcome);

struct request_record {
    core::request_id id = core::request_id::generate();
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::string_view client_ip;
    // The listener's scheme (X-Forwarded-Proto, and the envelope's `scheme`).
    std::string_view scheme = http_util::default_scheme;
    std::string_view method;  // views into the parsed request, which outlives the record's use
    std::string_view target;
    unsigned http_version = 11;
    unsigned status = 0;
    std::uint64_t response_bytes = 0;
    request_outcome outcome = request_outcome::proxied;
    std::optional<core::failure> failure;
    std::optional<bool> queued;  // for captured requests: whether it was stored durably
    // host:port of the backend endpoint that answered, or of the last one tried (or, when every
    // circuit was open, the one the round-robin would have picked); empty when not forwarded.
    std::string_view upstream;
    // The request's header fields in the order they arrived (ordered_request_parser).
    std::span<const boost::beast::http::fields::value_type* const> header_order;
    trace_context trace;  // the client's or a generated traceparent (trace_id in the log)
    bool rate_limited = false;  // answered 429 (outcome rejected, access-log flag RL)
    // answered 503 overloaded: no descriptor for the backend (outcome rejected, flag LO)
    bool overloaded = false;
};

// Writes the access-log line (text or JSON, per the log configuration).
void write_access_log(const request_record& r);

}  // namespace spillway::proxy
