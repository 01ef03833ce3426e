#pragma once
// The largest envelope (docs/envelope.md, "Size") a request within the proxy's limits can make:
// what a Kafka record must be allowed to hold. The capture's producer and the replay's
// dead-letter producer both take their message.max.bytes from here, so that no request is
// refused for its size after it was read and the dead-letter topic holds any envelope the main
// topic held (DESIGN.md, "Capture" and "The replay consumer").

#include <algorithm>
#include <cstdint>

namespace spillway::envelope {

// Inputs are capped here: far above anything librdkafka takes, far from overflowing once
// multiplied.
inline constexpr std::uint64_t limit_input_cap = std::uint64_t{1} << 40;

// The body: to_json writes it as escaped UTF-8 only while that is at most twice its bytes
// (quotes, backslashes, CR, LF and tab take two), else as base64 (4 per 3, padded): never more
// than 2 × max_body_bytes + 4, whatever its bytes.
constexpr std::uint64_t max_body_json_bytes(std::uint64_t max_body_bytes) {
    return 2 * std::min(max_body_bytes, limit_input_cap) + 4;
}

// The request line and headers, at most max_header_bytes as received. A raw line "N:V\r\n" (4
// bytes at least) becomes ["N","V"], in JSON, each byte at most 3 (an invalid UTF-8 byte becomes
// U+FFFD, quote, backslash and tab are escaped in 2; the parser refuses other control bytes in a
// head): at most 3 × the raw bytes. A sealed value (capture.seal_headers) grows by 4/3 and by at
// most sealed_value_overhead (prefix, key id, nonce and tag), at most once per 4 raw bytes.
inline constexpr std::uint64_t sealed_value_overhead = 128;
constexpr std::uint64_t max_head_json_bytes(std::uint64_t max_header_bytes) {
    const std::uint64_t h = std::min(max_header_bytes, limit_input_cap);
    return 3 * h + h / 4 * sealed_value_overhead;
}

// Everything else: the member names, id, received_at, http_version, client_ip, scheme, upstream,
// failure (its detail is an error text), attempts and redrives.
inline constexpr std::uint64_t fixed_members_bytes = 64 * 1024;

// The largest envelope (JSON text) of a request with a body of at most `max_body_bytes` and a
// head of at most `max_header_bytes`.
constexpr std::uint64_t max_envelope_bytes(std::uint64_t max_body_bytes,
                                           std::uint64_t max_header_bytes) {
    return max_body_json_bytes(max_body_bytes) + max_head_json_bytes(max_header_bytes) +
           fixed_members_bytes;
}

// The same envelope dead-lettered: with its `dlq` object and the dead letter's record headers.
std::uint64_t max_dead_letter_bytes(std::uint64_t max_body_bytes, std::uint64_t max_header_bytes);

// librdkafka's message.max.bytes for records of up to `record_bytes` (key and record headers
// included), within what librdkafka accepts (1,000,000 .. 1,000,000,000).
std::uint64_t message_max_bytes_for(std::uint64_t record_bytes);

}  // namespace spillway::envelope
