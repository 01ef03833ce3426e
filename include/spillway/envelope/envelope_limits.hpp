#pragma once
// The largest envelope (docs/envelope.md, "Size") a request within the proxy's limits can make:
// what a Kafka record must be allowed to hold, for the capture and the dead letter alike, so that
// no request is refused for its size after it was read (DESIGN.md "Capture").

#include <cstdint>

namespace spillway::envelope {

// The body: to_json writes it as escaped UTF-8 only while that is at most twice its bytes
// (quotes, backslashes, CR, LF and tab take two), else as base64 (4 per 3, padded): never more
// than 2 × max_body_bytes + 4, whatever its bytes.
constexpr std::uint64_t max_body_json_bytes(std::uint64_t max_body_bytes) {
    return 2 * max_body_bytes + 4;
}

// The request line and headers, at most max_header_bytes as received. A raw line "N:V\r\n" (4
// bytes at least) becomes ["N","V"], in JSON, each byte at most 3 (an invalid UTF-8 byte becomes
// U+FFFD, quote, backslash and tab are escaped in 2): at most 3 × the raw bytes. A sealed value
// (capture.seal_headers) grows by 4/3 and by at most sealed_value_overhead (prefix, key id,
// nonce and tag), at most once per 4 raw bytes.
inline constexpr std::uint64_t sealed_value_overhead = 128;
constexpr std::uint64_t max_head_json_bytes(std::uint64_t max_header_bytes) {
    return 3 * max_header_bytes + max_header_bytes / 4 * sealed_value_overhead;
}

// Everything else: the member names, id, received_at, http_version, client_ip, scheme, upstream,
// failure (its detail is an error text), attempts, redrives, and a dead letter's dlq object.
inline constexpr std::uint64_t fixed_members_bytes = 64 * 1024;

// The bound for records holding envelopes: the capture's producer (message.max.bytes) and the
// replay's dead-letter producer use the same one.
constexpr std::uint64_t max_envelope_bytes(std::uint64_t max_body_bytes,
                                           std::uint64_t max_header_bytes) {
    return max_body_json_bytes(max_body_bytes) + max_head_json_bytes(max_header_bytes) +
           fixed_members_bytes;
}

}  // namespace spillway::envelope
