// What the client gets when the backend cannot take a request. Without capture the proxy
// answers a gateway error (502, or 504 for a response timeout) with a JSON error; with capture
// (DESIGN.md "Capture") it answers 503 with {"queued": ...} once the request is stored (here in
// the test's spool: no Kafka listens). These tests accept either mode, told apart by the body,
// and live apart from the rest: only this file changes with the capture behaviour.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace spillway::test {
namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

// `gateway_status`: what the proxy answers without capture (502 or 504).
void expect_backend_failure_answer(const response& res, unsigned gateway_status) {
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_NE(res.status, 200u);
    EXPECT_EQ(res.header("Content-Type"), "application/json");
    ASSERT_TRUE(json::accept(res.body)) << res.body;
    const auto body = json::parse(res.body);
    EXPECT_TRUE(body.contains("error")) << res.body;
    if (body.contains("queued")) {
        EXPECT_EQ(res.status, 503u) << res.body;  // captured: capture.response_status
    } else {
        EXPECT_EQ(res.status, gateway_status) << res.body;
    }
}

class ProxyBackendFailure : public ::testing::Test {
protected:
    // The answer may wait for Kafka's delivery timeout (500 ms) before the spool takes it.
    static constexpr auto client_timeout = 10s;
};

TEST_F(ProxyBackendFailure, BackendDownGetsAGatewayError) {
    spillway_proxy proxy(dead_backend_url());
    http_client client(proxy.port(), client_timeout);
    auto res = client.request(make_request("POST", "/api/users", {}, R"({"name":"x"})"));
    expect_backend_failure_answer(res, 502);
    // The client's connection survives the failure, and /health does not depend on the backend.
    auto health = client.request(make_request("GET", "/health"));
    ASSERT_FALSE(health.error) << health.error.message();
    EXPECT_EQ(health.status, 200u);
}

TEST_F(ProxyBackendFailure, BackendStoppedWhileAConnectionWasPooled) {
    fake_backend backend;
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port(), client_timeout);
    ASSERT_EQ(client.request(make_request("GET", "/before")).status, 200u);  // pooled now

    backend.stop();  // closes the pooled connection and the listener
    expect_backend_failure_answer(client.request(make_request("GET", "/during")), 502);
}

TEST_F(ProxyBackendFailure, BackendClosingWithoutAnswerGetsAGatewayError) {
    fake_backend backend;
    backend.on("/reset", route{.close_without_answer = true});
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port(), client_timeout);
    expect_backend_failure_answer(client.request(make_request("POST", "/reset", {}, "payload")),
                                  502);
    auto next = client.request(make_request("GET", "/fine"));
    ASSERT_FALSE(next.error) << next.error.message();
    EXPECT_EQ(next.body, "GET /fine");
}

TEST_F(ProxyBackendFailure, BackendResponseTimeoutGets504) {
    fake_backend backend;
    backend.on("/slow", route{.delay = 4000ms});
    spillway_proxy proxy(backend.url(), {{"backend", {{"response_timeout_ms", 200}}}});
    http_client client(proxy.port(), client_timeout);
    const auto start = steady::now();
    auto res = client.request(make_request("GET", "/slow"));
    const auto took = steady::now() - start;
    expect_backend_failure_answer(res, 504);
    // 200 ms, plus at most the 500 ms Kafka delivery timeout when captured.
    EXPECT_LT(took, 2500ms) << "the response timeout was not applied";
    // The proxy gave up on that backend connection; the next request gets a fresh one.
    auto next = client.request(make_request("GET", "/fast"));
    ASSERT_FALSE(next.error) << next.error.message();
    EXPECT_EQ(next.status, 200u);
    EXPECT_EQ(next.body, "GET /fast");
}

}  // namespace
}  // namespace spillway::test
