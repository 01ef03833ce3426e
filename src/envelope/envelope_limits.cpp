#include "spillway/envelope/envelope_limits.hpp"

#include <algorithm>

namespace spillway::envelope {

namespace {

// Every field but the body and the head (id, times, client_ip, upstream, failure with its detail,
// scheme, attempts, redrives) with room to spare.
constexpr std::uint64_t fixed_fields_bytes = 64 * 1024;
// The `dlq` object (its reason quotes at most a short parse error or status line) and the record
// headers spillway-dlq-reason (the reason again), spillway-source, spillway-id, spillway-failure.
constexpr std::uint64_t dead_letter_extra_bytes = 64 * 1024;
// The record's key and headers and librdkafka's own framing of the message.
constexpr std::uint64_t record_overhead_bytes = 64 * 1024;

constexpr std::uint64_t librdkafka_min = 1000000;  // its default, kept as the floor
constexpr std::uint64_t librdkafka_max = 1000000000;

}  // namespace

std::uint64_t max_envelope_bytes(std::uint64_t max_body_bytes, std::uint64_t max_header_bytes) {
    // Far above anything librdkafka takes, and far from overflowing once multiplied.
    constexpr std::uint64_t saturate = 1ull << 40;
    return 6 * std::min(max_body_bytes, saturate) + 10 * std::min(max_header_bytes, saturate) +
           fixed_fields_bytes;
}

std::uint64_t max_dead_letter_bytes(std::uint64_t max_body_bytes, std::uint64_t max_header_bytes) {
    return max_envelope_bytes(max_body_bytes, max_header_bytes) + dead_letter_extra_bytes;
}

std::uint64_t message_max_bytes_for(std::uint64_t record_bytes) {
    return std::clamp(record_bytes + record_overhead_bytes, librdkafka_min, librdkafka_max);
}

}  // namespace spillway::envelope
