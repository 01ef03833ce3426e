#include "spillway/envelope/envelope_limits.hpp"

#include <algorithm>

namespace spillway::envelope {

namespace {

// The `dlq` object (its reason quotes at most a short parse error or status line) and the record
// headers spillway-dlq-reason (the reason again), spillway-source, spillway-id, spillway-failure.
constexpr std::uint64_t dead_letter_extra_bytes = 64 * 1024;
// The record's key and headers and librdkafka's own framing of the message.
constexpr std::uint64_t record_overhead_bytes = 64 * 1024;

constexpr std::uint64_t librdkafka_min = 1000000;  // its default, kept as the floor
constexpr std::uint64_t librdkafka_max = 1000000000;

}  // namespace

std::uint64_t max_dead_letter_bytes(std::uint64_t max_body_bytes, std::uint64_t max_header_bytes) {
    return max_envelope_bytes(max_body_bytes, max_header_bytes) + dead_letter_extra_bytes;
}

std::uint64_t message_max_bytes_for(std::uint64_t record_bytes) {
    return std::clamp(record_bytes + record_overhead_bytes, librdkafka_min, librdkafka_max);
}

}  // namespace spillway::envelope
