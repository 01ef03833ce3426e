// Connection-level protections: a client that does not finish its headers in time (slowloris)
// and an idle keep-alive connection are closed; at most max_connections are served at once.
// After each, the proxy still serves a normal request.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace spillway::test {
namespace {

using steady = std::chrono::steady_clock;

std::chrono::milliseconds since(steady::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t);
}

void expect_still_serving(std::uint16_t port) {
    auto res = fetch(port, "GET", "/after");
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, "GET /after");
}

TEST(ProxyHeaderTimeout, SlowlorisClientIsClosed) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(),
                         {{"limits", {{"header_timeout_ms", 300}, {"idle_timeout_ms", 30000}}}});
    http_client client(proxy.port());
    ASSERT_FALSE(client.connect_error());
    // A header line every 50 ms: the client is never silent, but never finishes its headers.
    const auto start = steady::now();
    ASSERT_FALSE(client.send("GET /slow HTTP/1.1\r\nHost: proxy.test\r\n"));
    bool closed = false;
    for (int i = 0; i < 60 && !closed; ++i) {
        if (client.send("X-Drip-" + std::to_string(i) + ": x\r\n")) {
            closed = true;  // the proxy closed: the write failed
            break;
        }
        closed = client.wait_closed(50ms);
    }
    EXPECT_TRUE(closed) << "still open after " << since(start).count() << " ms";
    EXPECT_LT(since(start), 2500ms);
    EXPECT_EQ(backend.request_count(), 0u);
    expect_still_serving(proxy.port());
}

TEST(ProxyHeaderTimeout, SilentConnectionIsClosed) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(),
                         {{"limits", {{"header_timeout_ms", 300}, {"idle_timeout_ms", 30000}}}});
    http_client client(proxy.port());
    ASSERT_FALSE(client.connect_error());
    const auto start = steady::now();
    std::string received;
    EXPECT_TRUE(client.wait_closed(3s, &received));
    EXPECT_GE(since(start), 250ms);
    EXPECT_TRUE(received.empty()) << received;
    expect_still_serving(proxy.port());
}

TEST(ProxyIdleTimeout, IdleKeepAliveConnectionIsClosed) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(),
                         {{"limits", {{"header_timeout_ms", 30000}, {"idle_timeout_ms", 300}}}});
    http_client client(proxy.port());
    auto res = client.request(make_request("GET", "/first"));
    ASSERT_FALSE(res.error) << res.error.message();
    ASSERT_TRUE(res.keep_alive);
    const auto start = steady::now();
    std::string received;
    EXPECT_TRUE(client.wait_closed(3s, &received));  // header_timeout is 30 s: this is idle
    EXPECT_GE(since(start), 250ms);
    EXPECT_TRUE(received.empty()) << received;
    expect_still_serving(proxy.port());
}

TEST(ProxyIdleTimeout, ActiveKeepAliveConnectionIsNotClosed) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(),
                         {{"limits", {{"header_timeout_ms", 30000}, {"idle_timeout_ms", 300}}}});
    http_client client(proxy.port());
    // A request every 50 ms for longer than two idle timeouts: the timer restarts each time.
    const auto start = steady::now();
    for (int i = 0; since(start) < 800ms; ++i) {
        auto res = client.request(make_request("GET", "/tick"));
        ASSERT_FALSE(res.error) << "request " << i << " at " << since(start).count()
                                << " ms: " << res.error.message();
        EXPECT_FALSE(client.wait_closed(50ms)) << "closed while active";
    }
    EXPECT_EQ(backend.accepted_connections(), 1u);
}

// A connection proven live by an answered request. Retried for a while: the proxy may still
// count a connection that just closed (the fixture's readiness probe) for a moment.
std::unique_ptr<http_client> live_connection(std::uint16_t port, const std::string& target) {
    std::unique_ptr<http_client> client;
    wait_until(
        [&] {
            client = std::make_unique<http_client>(port);
            auto res = client->request(make_request("GET", target));
            return !res.error && res.status == 200u;
        },
        5s, 20ms);
    return client;
}

TEST(ProxyMaxConnections, ConnectionsOverTheLimitAreClosed) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), {{"limits", {{"max_connections", 2}}}});
    auto first = live_connection(proxy.port(), "/one");
    auto second = live_connection(proxy.port(), "/two");
    ASSERT_EQ(first->request(make_request("GET", "/one-again")).status, 200u);
    ASSERT_EQ(second->request(make_request("GET", "/two-again")).status, 200u);
    const auto served_before = backend.request_count();

    http_client third(proxy.port());
    ASSERT_FALSE(third.connect_error());  // the kernel accepts it; the proxy closes it
    third.send(make_request("GET", "/three"));
    std::string received;
    EXPECT_TRUE(third.wait_closed(3s, &received));
    EXPECT_EQ(received.find("GET /three"), std::string::npos) << received;
    EXPECT_EQ(backend.request_count(), served_before);

    // The live connections still work, and a freed slot is served again.
    EXPECT_EQ(second->request(make_request("GET", "/two-still")).status, 200u);
    first.reset();
    const bool served = wait_until(
        [&] {
            auto res = fetch(proxy.port(), "GET", "/after");
            return !res.error && res.status == 200u && res.body == "GET /after";
        },
        5s, 20ms);
    EXPECT_TRUE(served) << "no request served after a connection was freed";
}

}  // namespace
}  // namespace spillway::test
