// Bodies that are not text, bodies that are large, and the record key chosen by kafka.key: all
// read back from the topic with kcat.

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

namespace spillway::test::capture_suite {
namespace {

// An encoder of our own, so the check does not use the code under test.
std::string reference_base64(std::string_view bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                       (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) |
                       std::uint32_t(std::uint8_t(bytes[i + 2]));
        for (int shift : {18, 12, 6, 0}) {
            out += alphabet[(n >> shift) & 63];
        }
    }
    if (const auto rest = bytes.size() - i; rest > 0) {
        auto n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
        if (rest == 2) {
            n |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
        }
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

struct one_capture {
    std::string id;
    std::vector<captured> records;
};

// Sends one request to a proxy whose backend is down and reads the topic back.
one_capture capture_one(const std::string& bootstrap, spillway_proxy& p,
                        const std::string& request) {
    http_client client(p.port(), 10s);
    one_capture out;
    out.id = expect_captured(client.request(request));
    out.records = read_records(bootstrap, 1);
    return out;
}

TEST(CaptureBodies, BinaryBodyWithNulBytesRoundTripsThroughBase64) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    spillway_proxy p({dead_backend_url(), broker.bootstrap(), spool.path(), {}});

    std::string body;
    for (int round = 0; round < 3; ++round) {
        for (int b = 0; b < 256; ++b) {
            body += static_cast<char>(b);
        }
    }
    body += std::string("\0\0\xff", 3);  // ends in NULs and a byte that is never UTF-8
    const auto got = capture_one(
        broker.bootstrap(), p,
        make_request("POST", "/upload", {{"Content-Type", "application/octet-stream"}}, body));
    ASSERT_EQ(got.records.size(), 1u);
    const auto& c = got.records.front();
    ASSERT_TRUE(c.envelope.has_value()) << c.parse_error;
    EXPECT_EQ(c.envelope->id, got.id);
    EXPECT_EQ(c.raw.value("body_encoding", ""), "base64");
    EXPECT_EQ(c.raw.value("body", ""), reference_base64(body));
    EXPECT_EQ(c.envelope->body.size(), body.size());
    EXPECT_TRUE(c.envelope->body == body) << "the decoded body differs from what was sent";
    expect_schema_valid(got.records);
}

TEST(CaptureBodies, OneMebibyteBodyArrivesWhole) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    spillway_proxy p({dead_backend_url(), broker.bootstrap(), spool.path(), {}});

    std::string body(1024 * 1024, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = i % 64 == 63 ? '\n' : static_cast<char>('a' + i % 26);
    }
    const auto got =
        capture_one(broker.bootstrap(), p,
                    make_request("POST", "/bulk", {{"Content-Type", "text/plain"}}, body));
    ASSERT_EQ(got.records.size(), 1u) << "the 1 MiB envelope is not in the topic";
    const auto& c = got.records.front();
    ASSERT_TRUE(c.envelope.has_value()) << c.parse_error;
    EXPECT_EQ(c.envelope->id, got.id);
    EXPECT_EQ(c.message.key, got.id);
    EXPECT_EQ(c.raw.value("body_encoding", ""), "utf8");
    EXPECT_EQ(c.envelope->body.size(), body.size());
    EXPECT_TRUE(c.envelope->body == body) << "the body differs from what was sent";
    expect_schema_valid(got.records);
}

TEST(CaptureRecordKey, ClientIpKey) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    spillway_proxy p({dead_backend_url(),
                      broker.bootstrap(),
                      spool.path(),
                      {{"kafka", {{"key", "client_ip"}}}}});

    const auto got = capture_one(broker.bootstrap(), p, make_request("GET", "/k"));
    ASSERT_EQ(got.records.size(), 1u);
    const auto& c = got.records.front();
    EXPECT_EQ(c.message.key, "127.0.0.1");
    EXPECT_EQ(c.message.header("spillway-id"), got.id) << "the id header stays the id";
    ASSERT_TRUE(c.envelope.has_value()) << c.parse_error;
    EXPECT_EQ(c.envelope->id, got.id);
}

TEST(CaptureRecordKey, HeaderKey) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    spillway_proxy p({dead_backend_url(),
                      broker.bootstrap(),
                      spool.path(),
                      {{"kafka", {{"key", "header:X-Tenant"}}}}});

    // The header is matched whatever its case, as HTTP header names are.
    const auto got =
        capture_one(broker.bootstrap(), p, make_request("GET", "/k", {{"x-tenant", "tenant-42"}}));
    ASSERT_EQ(got.records.size(), 1u);
    const auto& c = got.records.front();
    EXPECT_EQ(c.message.key, "tenant-42");
    EXPECT_EQ(c.message.header("spillway-id"), got.id);
    ASSERT_TRUE(c.envelope.has_value()) << c.parse_error;
    EXPECT_EQ(c.envelope->id, got.id);
}

}  // namespace
}  // namespace spillway::test::capture_suite
