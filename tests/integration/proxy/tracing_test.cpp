// W3C Trace Context over real sockets: a client's traceparent and tracestate reach the backend
// byte for byte; a request without one (or with an invalid one) gets a generated traceparent;
// the access log shows the trace id, as text and as JSON.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

namespace spillway::test {
namespace {

constexpr std::string_view client_traceparent =
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
constexpr std::string_view client_trace_id = "0af7651916cd43dd8448eb211c80319c";
// Spaces and a tab inside the list: the value must arrive exactly as sent.
constexpr std::string_view client_tracestate = "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7,\tx=y";

const nlohmann::json info_logs = {{"log", {{"level", "info"}}}};

std::size_t occurrences(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

// The one traceparent the backend received, checked to be one the proxy generates.
std::string expect_generated_traceparent(const recorded_request& r) {
    EXPECT_EQ(occurrences(r.raw, "traceparent: "), 1u) << r.raw;
    const auto value = r.header("traceparent").value_or("");
    static const std::regex format("00-[0-9a-f]{32}-[0-9a-f]{16}-00");
    EXPECT_TRUE(std::regex_match(value, format)) << value;
    EXPECT_NE(value.substr(3, 32), std::string(32, '0'));
    EXPECT_NE(value.substr(36, 16), std::string(16, '0'));
    return value;
}

TEST(ProxyTracing, ClientTraceHeadersReachTheBackendByteForByte) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), info_logs);
    const auto res = fetch(proxy.port(), "GET", "/traced",
                           {{"traceparent", std::string(client_traceparent)},
                            {"tracestate", std::string(client_tracestate)}});
    ASSERT_EQ(res.status, 200u) << res.body;
    ASSERT_TRUE(backend.wait_for_requests(1, 5s));
    const auto raw = backend.requests().front().raw;
    EXPECT_EQ(occurrences(raw, "traceparent"), 1u) << raw;
    EXPECT_NE(raw.find("\r\ntraceparent: " + std::string(client_traceparent) + "\r\n"),
              std::string::npos)
        << raw;
    EXPECT_NE(raw.find("\r\ntracestate: " + std::string(client_tracestate) + "\r\n"),
              std::string::npos)
        << raw;
    EXPECT_TRUE(proxy.proc().wait_for_output("trace_id=" + std::string(client_trace_id), 5s))
        << proxy.proc().stdout_text();
}

TEST(ProxyTracing, ARequestWithoutOneGetsAGeneratedTraceparent) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), info_logs);
    http_client client(proxy.port());
    ASSERT_EQ(client.request(make_request("GET", "/one")).status, 200u);
    ASSERT_EQ(client.request(make_request("GET", "/two")).status, 200u);
    ASSERT_TRUE(backend.wait_for_requests(2, 5s));
    const auto requests = backend.requests();
    const auto first = expect_generated_traceparent(requests[0]);
    const auto second = expect_generated_traceparent(requests[1]);
    EXPECT_NE(first.substr(3, 32), second.substr(3, 32)) << "each request starts its own trace";
    EXPECT_FALSE(requests[0].header("tracestate").has_value());
    // The access log names the trace the backend got.
    EXPECT_TRUE(proxy.proc().wait_for_output("GET /one HTTP/1.1", 5s));
    EXPECT_TRUE(proxy.proc().wait_for_output("trace_id=" + first.substr(3, 32), 5s))
        << proxy.proc().stdout_text();
}

TEST(ProxyTracing, AnInvalidTraceparentIsReplacedAndItsTracestateDropped) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), info_logs);
    const auto res =
        fetch(proxy.port(), "GET", "/invalid",
              {{"traceparent", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"},
               {"tracestate", "rojo=1"}});
    ASSERT_EQ(res.status, 200u);
    ASSERT_TRUE(backend.wait_for_requests(1, 5s));
    const auto r = backend.requests().front();
    expect_generated_traceparent(r);
    EXPECT_EQ(r.raw.find("0AF7651916CD43DD"), std::string::npos) << r.raw;
    EXPECT_EQ(r.raw.find("rojo=1"), std::string::npos) << r.raw;
}

TEST(ProxyTracing, JsonAccessLogHasTheTraceId) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), {{"log", {{"level", "info"}, {"format", "json"}}}});
    const auto res =
        fetch(proxy.port(), "GET", "/json", {{"traceparent", std::string(client_traceparent)}});
    ASSERT_EQ(res.status, 200u);
    // The access record's fields are merged into the log line's JSON object.
    EXPECT_TRUE(
        proxy.proc().wait_for_output("\"trace_id\":\"" + std::string(client_trace_id) + "\"", 5s))
        << proxy.proc().stdout_text();
}

}  // namespace
}  // namespace spillway::test
