#pragma once
// The envelope, version 1 (DESIGN.md "The envelope"; docs/envelope.md): the JSON value of a Kafka
// record that holds one captured request whole. The proxy builds and serializes it; the replay
// consumer parses and validates it. Parsing never throws on bad input: it returns the reason,
// which is what a dead letter carries.

#include "spillway/core/base64.hpp"
#include "spillway/core/failure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace spillway::envelope {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct dlq_info {
    std::string reason;
    std::optional<unsigned> last_status;
    unsigned attempts = 0;
    std::string at;  // RFC 3339
};

struct envelope {
    static constexpr int current_version = 1;

    std::string id;  // UUID; also the 503 body's request_id
    std::string received_at;  // RFC 3339 UTC with milliseconds
    std::string method;
    std::string uri;  // request-target as received, in origin-form (absolute-form rewritten)
    std::string http_version;  // "1.1" or "1.0"
    header_list headers;  // end-to-end headers as sent, in order, duplicates kept
    std::string body;  // the decoded body bytes (may hold any byte); the sealed text if sealed
    // body_encoding "sealed": `body` is a sealed value (core/seal.hpp, "sealed:v1:..."), opened
    // only by the replay just before it sends (docs/sealing.md).
    bool body_sealed = false;
    std::string client_ip;
    // The proxy listener's scheme, "http" or "https" (optional: empty in older envelopes, which
    // were all captured over http).
    std::string scheme;
    std::string upstream;  // host:port of the backend the proxy tried
    core::failure failure;
    unsigned attempts = 0;
    std::optional<dlq_info> dlq;  // only on dead-lettered envelopes
};

// Serializes to the version-1 JSON text: body_encoding "sealed" when body_sealed, else "utf8"
// when the body is valid UTF-8 and its escaped text is at most twice as long as the body, else
// "base64" (so no body takes more than envelope_limits.hpp allows: a body of control bytes would
// take six times its size).
std::string to_json(const envelope& e);

// A reason a message is not a valid envelope, e.g. "body: invalid base64".
struct parse_error {
    std::string reason;
};

// Parses and validates JSON text into an envelope (body decoded). Never throws.
std::variant<envelope, parse_error> parse_envelope(std::string_view json_text);

// Whether `body` is written as escaped UTF-8 (else base64), by the rule to_json follows.
bool body_as_utf8(std::string_view body);

// Whether `text` is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Base64 lives in core (sealed values use it too); the envelope's callers name it here.
using core::base64_decode;
using core::base64_encode;

}  // namespace spillway::envelope
