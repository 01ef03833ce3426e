// The record limits derived from capture.max_body_bytes: they must hold the worst envelope the
// proxy can build, and the dead-letter copy of it.

#include "spillway/envelope/envelope_limits.hpp"

#include "spillway/envelope/envelope.hpp"

#include <gtest/gtest.h>

namespace spillway::envelope {
namespace {

envelope worst_case(std::size_t body_bytes, std::size_t head_bytes) {
    envelope e;
    e.id = "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11";
    e.received_at = "2026-11-26T18:00:00.123Z";
    e.method = "POST";
    e.http_version = "1.1";
    // Control bytes: valid UTF-8, but escaped as \u00XX they would grow 6 times, so the body is
    // written as base64; quotes would double, the worst case of a body written as text.
    e.body.assign(body_bytes / 2, '\x01');
    e.body.append(body_bytes - e.body.size(), '"');
    e.uri = "/" + std::string(head_bytes / 4, '\x02');
    for (std::size_t used = e.uri.size(); used + 8 < head_bytes; used += 8) {
        e.headers.emplace_back("\x03", std::string(4, '\x04'));  // "N: vvvv\r\n" is 8 bytes
    }
    e.client_ip = "2001:db8::1";
    e.upstream = "backend.internal:3000";
    e.failure.kind = core::failure_kind::upstream_status;
    e.failure.detail = std::string(200, '\x05');
    return e;
}

TEST(EnvelopeLimits, HoldTheWorstEnvelopeOfTheLimits) {
    constexpr std::size_t body = 256 * 1024;
    constexpr std::size_t head = 16 * 1024;
    const auto json = to_json(worst_case(body, head));
    EXPECT_GT(json.size(), body * 3 / 2) << "the case is as bad as claimed";
    EXPECT_LE(json.size(), max_envelope_bytes(body, head));
    EXPECT_GT(max_dead_letter_bytes(body, head), max_envelope_bytes(body, head));
}

TEST(EnvelopeLimits, MessageMaxBytesStaysWithinWhatLibrdkafkaTakes) {
    EXPECT_EQ(message_max_bytes_for(0), 1000000u) << "never below librdkafka's default";
    EXPECT_EQ(message_max_bytes_for(5000000), 5000000u + 64 * 1024);
    EXPECT_EQ(message_max_bytes_for(1ull << 40), 1000000000u);
    EXPECT_EQ(message_max_bytes_for(max_dead_letter_bytes(~0ull, ~0ull)), 1000000000u)
        << "saturates, never wraps";
}

TEST(EnvelopeLimits, TheDefaultBodyLimitFitsWithRoomForItsDeadLetter) {
    const auto limit = message_max_bytes_for(max_dead_letter_bytes(10 * 1024 * 1024, 16 * 1024));
    EXPECT_GE(limit, max_envelope_bytes(10 * 1024 * 1024, 16 * 1024));
    EXPECT_LT(limit, 1000000000u);
}

}  // namespace
}  // namespace spillway::envelope
