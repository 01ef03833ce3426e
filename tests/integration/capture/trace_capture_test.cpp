// Trace context in captured requests: the envelope holds the client's traceparent and tracestate
// (the client sent them), never one the proxy generated for the backend.

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

namespace spillway::test::capture_suite {
namespace {

constexpr std::string_view client_traceparent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view client_tracestate = "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE";

std::vector<std::string> header_values(const spillway::envelope::envelope& e,
                                       std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [n, v] : e.headers) {
        if (n.size() == name.size() &&
            std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == b;
            })) {
            out.push_back(v);
        }
    }
    return out;
}

struct traced_capture {
    std::string backend_traceparent;  // what the backend received
    spillway::envelope::envelope envelope;
};

// One request that the backend answers 503 (so it sees the request and it is captured).
traced_capture capture_with(const header_list& headers) {
    devbroker broker;
    temp_dir spool("spillway-trace-spool");
    fake_backend backend;
    backend.on("/traced", route{.status = 503});
    spillway_proxy p({backend.url(), broker.bootstrap(), spool.path(), {}});
    http_client client(p.port(), 10s);
    const auto id = expect_captured(client.request(make_request("POST", "/traced", headers, "{}")));
    traced_capture out;
    const auto seen = backend.requests();
    EXPECT_EQ(seen.size(), 1u);
    if (!seen.empty()) {
        EXPECT_EQ(seen[0].count("traceparent"), 1u);
        out.backend_traceparent = seen[0].header("traceparent").value_or("");
    }
    const auto records = read_records(broker.bootstrap(), 1);
    EXPECT_EQ(records.size(), 1u);
    if (!records.empty() && records[0].envelope) {
        EXPECT_EQ(records[0].envelope->id, id);
        out.envelope = *records[0].envelope;
    } else {
        ADD_FAILURE() << "no envelope";
    }
    expect_schema_valid(records);
    return out;
}

TEST(CaptureTracing, TheClientsTraceContextIsInTheEnvelope) {
    const auto got = capture_with({{"traceparent", std::string(client_traceparent)},
                                   {"tracestate", std::string(client_tracestate)}});
    EXPECT_EQ(got.backend_traceparent, client_traceparent);
    EXPECT_EQ(header_values(got.envelope, "traceparent"),
              std::vector<std::string>{std::string(client_traceparent)});
    EXPECT_EQ(header_values(got.envelope, "tracestate"),
              std::vector<std::string>{std::string(client_tracestate)});
}

TEST(CaptureTracing, AGeneratedTraceparentNeverGoesIntoTheEnvelope) {
    const auto got = capture_with({{"Content-Type", "application/json"}});
    EXPECT_EQ(got.backend_traceparent.size(), 55u) << "the backend got a generated traceparent";
    EXPECT_TRUE(header_values(got.envelope, "traceparent").empty());
    EXPECT_TRUE(header_values(got.envelope, "tracestate").empty());
}

TEST(CaptureTracing, AnInvalidClientTraceparentIsStoredAsSentNotAsReplaced) {
    const auto got = capture_with({{"traceparent", "not-a-trace"}, {"tracestate", "a=b"}});
    EXPECT_EQ(got.backend_traceparent.size(), 55u);
    EXPECT_EQ(header_values(got.envelope, "traceparent"), std::vector<std::string>{"not-a-trace"});
    EXPECT_EQ(header_values(got.envelope, "tracestate"), std::vector<std::string>{"a=b"});
}

}  // namespace
}  // namespace spillway::test::capture_suite
