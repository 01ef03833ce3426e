#pragma once
// How large a record can get, from the limits on what the proxy reads: the capture producer's and
// the replay's dead-letter producer's message.max.bytes both come from here, so the dead-letter
// topic can hold any envelope the main topic held (DESIGN.md, "Capture" and "The replay consumer").
//
// The worst case, not the usual one: JSON escapes a control byte as \u00XX (6 bytes for 1), so a
// body of N such bytes (valid UTF-8, so not base64) is 6N bytes in the envelope; a request head
// of H bytes becomes at most 10H (escaping, the ["name","value"] framing, sealed values' base64 and
// prefix); the other fields are a few hundred bytes.

#include <cstdint>

namespace spillway::envelope {

// The largest envelope (JSON text) a request with a body of at most `max_body_bytes` and a head of
// at most `max_header_bytes` can make.
std::uint64_t max_envelope_bytes(std::uint64_t max_body_bytes, std::uint64_t max_header_bytes);

// The same envelope dead-lettered: with its `dlq` object and the dead letter's record headers.
std::uint64_t max_dead_letter_bytes(std::uint64_t max_body_bytes, std::uint64_t max_header_bytes);

// librdkafka's message.max.bytes for records of up to `record_bytes` (key and record headers
// included), within what librdkafka accepts (1,000,000 .. 1,000,000,000).
std::uint64_t message_max_bytes_for(std::uint64_t record_bytes);

}  // namespace spillway::envelope
