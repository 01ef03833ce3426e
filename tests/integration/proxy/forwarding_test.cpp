// The proxy forwards requests and relays responses: methods and bodies intact, HTTP/1.0 and 1.1,
// keep-alive and pipelining on the client side, chunked and 100-continue request bodies, bodiless
// responses, and upstream connections reused from the pool.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace spillway::test {
namespace {

class ProxyForwarding : public ::testing::Test {
protected:
    fake_backend backend_;
    spillway_proxy proxy_{backend_.url()};
};

TEST_F(ProxyForwarding, GetIsForwardedAndTheResponseRelayed) {
    backend_.on("/api/users",
                route{.status = 200,
                      .headers = {{"Content-Type", "application/json"}, {"X-Backend", "yes"}},
                      .body = R"([{"id":1}])"});
    auto res = fetch(proxy_.port(), "GET", "/api/users?source=web&x=%20y");
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"([{"id":1}])");
    EXPECT_EQ(res.header("Content-Type"), "application/json");
    EXPECT_EQ(res.header("X-Backend"), "yes");

    ASSERT_EQ(backend_.request_count(), 1u);
    const auto req = backend_.requests()[0];
    EXPECT_EQ(req.method, "GET");
    EXPECT_EQ(req.target, "/api/users?source=web&x=%20y");  // exactly as received
    EXPECT_EQ(req.version, 11u);
    EXPECT_EQ(req.header("Host"), "proxy.test");
}

TEST_F(ProxyForwarding, PostBodyArrivesIntactAndStatusPassesThrough) {
    backend_.on("/api/users", route{.status = 201, .echo = true});
    std::string body = R"({"name":"John","email":"john@example.com"})";
    body += std::string(1, '\0') + "\xff\xfe binary tail";
    auto res =
        fetch(proxy_.port(), "POST", "/api/users",
              {{"Content-Type", "application/json"}, {"X-Custom", "a"}, {"X-Custom", "b"}}, body);
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 201u);
    EXPECT_EQ(res.body, body);

    ASSERT_EQ(backend_.request_count(), 1u);
    const auto req = backend_.requests()[0];
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.body, body);
    EXPECT_EQ(req.header("Content-Length"), std::to_string(body.size()));
    EXPECT_EQ(req.header("Content-Type"), "application/json");
    EXPECT_EQ(req.count("X-Custom"), 2u);  // duplicates kept
}

TEST_F(ProxyForwarding, OtherMethodsAndErrorStatusesPassThrough) {
    backend_.on("/missing", route{.status = 404, .body = "nope"});
    backend_.on("/broken", route{.status = 500, .body = "boom"});
    auto put = fetch(proxy_.port(), "PUT", "/item/1", {}, "v");
    auto del = fetch(proxy_.port(), "DELETE", "/item/1");
    auto missing = fetch(proxy_.port(), "GET", "/missing");
    auto broken = fetch(proxy_.port(), "GET", "/broken");
    EXPECT_EQ(put.body, "PUT /item/1");
    EXPECT_EQ(del.body, "DELETE /item/1");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(missing.body, "nope");
    EXPECT_EQ(broken.status, 500u);  // not in capture.on: passes through unchanged
    EXPECT_EQ(broken.body, "boom");
}

TEST_F(ProxyForwarding, Http10RequestIsAnsweredAndTheConnectionClosed) {
    http_client client(proxy_.port());
    ASSERT_FALSE(client.connect_error());
    // No Host: HTTP/1.0 allows it; the backend still gets one.
    auto res = client.request(make_request("GET", "/old", {}, {}, "", "1.0"));
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, "GET /old");
    EXPECT_TRUE(client.wait_closed(2s));

    ASSERT_EQ(backend_.request_count(), 1u);
    const auto req = backend_.requests()[0];
    EXPECT_EQ(req.target, "/old");
    EXPECT_TRUE(req.header("Host").has_value());
}

TEST_F(ProxyForwarding, Http10KeepAliveConnectionServesSeveralRequests) {
    http_client client(proxy_.port());
    for (int i = 0; i < 3; ++i) {
        auto res =
            client.request(make_request("GET", "/ten/" + std::to_string(i),
                                        {{"Connection", "keep-alive"}}, {}, "proxy.test", "1.0"));
        ASSERT_FALSE(res.error) << i << ": " << res.error.message();
        EXPECT_EQ(res.body, "GET /ten/" + std::to_string(i));
        EXPECT_TRUE(res.keep_alive) << i;
    }
}

TEST_F(ProxyForwarding, Http10ClientGetsAChunkedBackendResponseDelimitedByClose) {
    backend_.on("/chunked", route{.body = "streamed for an old client", .chunked = true});
    http_client client(proxy_.port());
    auto res = client.request(make_request("GET", "/chunked", {}, {}, "proxy.test", "1.0"));
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, "streamed for an old client");
    EXPECT_EQ(res.count("Transfer-Encoding"), 0u);  // HTTP/1.0 has no chunked framing
}

TEST_F(ProxyForwarding, KeepAliveConnectionServesManyRequests) {
    http_client client(proxy_.port());
    ASSERT_FALSE(client.connect_error());
    for (int i = 0; i < 20; ++i) {
        auto res = client.request(make_request("GET", "/ka/" + std::to_string(i)));
        ASSERT_FALSE(res.error) << i << ": " << res.error.message();
        EXPECT_EQ(res.body, "GET /ka/" + std::to_string(i));
        EXPECT_TRUE(res.keep_alive);
    }
    // "Connection: close" from the client is honoured after the answer.
    auto last = client.request(make_request("GET", "/ka/last", {{"Connection", "close"}}));
    ASSERT_FALSE(last.error);
    EXPECT_FALSE(last.keep_alive);
    EXPECT_TRUE(client.wait_closed(2s));
}

TEST_F(ProxyForwarding, PipelinedRequestsAreAnsweredInOrder) {
    // The first is the slowest: answers out of order would show.
    backend_.on("/p/0", route{.delay = 150ms});
    backend_.on("/p/1", route{.chunked = true});
    backend_.on("/p/2", route{.status = 201, .echo = true});
    std::string batch = make_request("GET", "/p/0") + make_request("GET", "/p/1") +
                        make_request("POST", "/p/2", {}, "third body") +
                        make_request("GET", "/p/3");
    http_client client(proxy_.port());
    ASSERT_FALSE(client.send(batch));
    const std::vector<std::string> expected{"GET /p/0", "GET /p/1", "third body", "GET /p/3"};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        auto res = client.read_response();
        ASSERT_FALSE(res.error) << i << ": " << res.error.message();
        EXPECT_EQ(res.body, expected[i]) << i;
    }
    EXPECT_EQ(backend_.request_count(), 4u);
}

TEST_F(ProxyForwarding, ChunkedRequestBodyIsDechunked) {
    backend_.on("/upload", route{.echo = true});
    const std::string request =
        "POST /upload HTTP/1.1\r\nHost: proxy.test\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "5\r\nhello\r\n"
        "1;ext=1\r\n \r\n"
        "10\r\n0123456789abcdef\r\n"
        "0\r\nX-Trailer: t\r\n\r\n";
    http_client client(proxy_.port());
    auto res = client.request(request);
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, "hello 0123456789abcdef");

    ASSERT_EQ(backend_.request_count(), 1u);
    const auto req = backend_.requests()[0];
    EXPECT_EQ(req.body, "hello 0123456789abcdef");
    EXPECT_EQ(req.header("Content-Length"), "22");
    EXPECT_EQ(req.count("Transfer-Encoding"), 0u);
    EXPECT_EQ(req.header("Content-Type"), "text/plain");
}

TEST_F(ProxyForwarding, ExpectContinueGetsA100ThenTheFinalResponse) {
    backend_.on("/upload", route{.status = 201, .echo = true});
    http_client client(proxy_.port());
    const std::string body = "the body, sent only after 100 Continue";
    std::string head =
        "POST /upload HTTP/1.1\r\nHost: proxy.test\r\nExpect: 100-continue\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    ASSERT_FALSE(client.send(head));
    auto interim = client.read_response();
    ASSERT_FALSE(interim.error) << interim.error.message();
    EXPECT_EQ(interim.status, 100u);
    EXPECT_EQ(backend_.request_count(), 0u);  // nothing forwarded before the body

    ASSERT_FALSE(client.send(body));
    auto res = client.read_response();
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 201u);
    EXPECT_EQ(res.body, body);
    ASSERT_EQ(backend_.request_count(), 1u);
    EXPECT_EQ(backend_.requests()[0].body, body);
}

// After a bodiless response, the next response on the same connection must parse: a stray body
// byte would corrupt it.
void expect_next_response_clean(http_client& client) {
    auto next = client.request(make_request("GET", "/next"));
    ASSERT_FALSE(next.error) << next.error.message();
    EXPECT_EQ(next.status, 200u);
    EXPECT_EQ(next.body, "GET /next");
}

TEST_F(ProxyForwarding, HeadResponseHasHeadersButNoBody) {
    backend_.on("/doc", route{.headers = {{"ETag", "\"v1\""}}, .body_bytes = 1000});
    http_client client(proxy_.port());
    auto res = client.request(make_request("HEAD", "/doc"), true);
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.header("Content-Length"), "1000");
    EXPECT_EQ(res.header("ETag"), "\"v1\"");
    expect_next_response_clean(client);
    ASSERT_EQ(backend_.request_count(), 2u);
    EXPECT_EQ(backend_.requests()[0].method, "HEAD");
}

TEST_F(ProxyForwarding, HeadOfAChunkedResourceHasNoBody) {
    backend_.on("/doc", route{.body_bytes = 5000, .chunked = true});
    http_client client(proxy_.port());
    auto res = client.request(make_request("HEAD", "/doc"), true);
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    expect_next_response_clean(client);
}

TEST_F(ProxyForwarding, NoContentResponseHasNoBody) {
    backend_.on("/gone", route{.status = 204, .headers = {{"X-Deleted", "1"}}});
    http_client client(proxy_.port());
    auto res = client.request(make_request("DELETE", "/gone"));
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 204u);
    EXPECT_EQ(res.header("X-Deleted"), "1");
    EXPECT_TRUE(res.body.empty());
    EXPECT_EQ(res.count("Transfer-Encoding"), 0u);
    expect_next_response_clean(client);
}

TEST_F(ProxyForwarding, NotModifiedResponseHasNoBody) {
    backend_.on("/cached", route{.status = 304, .headers = {{"ETag", "\"abc\""}}, .body = ""});
    http_client client(proxy_.port());
    auto res = client.request(make_request("GET", "/cached", {{"If-None-Match", "\"abc\""}}));
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 304u);
    EXPECT_EQ(res.header("ETag"), "\"abc\"");
    EXPECT_TRUE(res.body.empty());
    EXPECT_EQ(res.count("Transfer-Encoding"), 0u);
    expect_next_response_clean(client);
    EXPECT_EQ(backend_.requests()[0].header("If-None-Match"), "\"abc\"");
}

TEST_F(ProxyForwarding, UpstreamConnectionsAreReusedFromThePool) {
    http_client client(proxy_.port());
    ASSERT_FALSE(client.connect_error());
    constexpr int requests = 1000;
    for (int i = 0; i < requests; ++i) {
        auto res = client.request(make_request("GET", "/pool"));
        ASSERT_FALSE(res.error) << i << ": " << res.error.message();
        ASSERT_EQ(res.status, 200u) << i;
    }
    EXPECT_EQ(backend_.request_count(), static_cast<std::size_t>(requests));
    EXPECT_LE(backend_.accepted_connections(), 4u);
}

TEST_F(ProxyForwarding, PoolSurvivesABackendThatClosesAfterEachResponse) {
    // Connection: close from the backend: the proxy must not reuse that connection.
    backend_.on("/closing", route{.close_after = true});
    http_client client(proxy_.port());
    for (int i = 0; i < 5; ++i) {
        auto res = client.request(make_request("GET", "/closing"));
        ASSERT_FALSE(res.error) << i << ": " << res.error.message();
        EXPECT_EQ(res.status, 200u) << i;
        EXPECT_TRUE(res.keep_alive) << i;  // the client's connection is not the backend's
    }
    EXPECT_EQ(backend_.accepted_connections(), 5u);
}

TEST(ProxyConcurrency, ConcurrentClientsOnTwoWorkerThreadsGetTheirOwnAnswers) {
    fake_backend backend;
    backend.on("/echo", route{.echo = true});
    spillway_proxy proxy(backend.url(), {{"threads", 2}});
    constexpr int clients = 16;
    constexpr int requests_each = 20;
    std::atomic<int> good{0};
    std::vector<std::string> first_error(clients);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            http_client client(proxy.port(), 10s);
            for (int i = 0; i < requests_each; ++i) {
                const std::string body = "client " + std::to_string(c) + " request " +
                                         std::to_string(i) + std::string(c * 100, 'x');
                auto res = client.request(make_request("POST", "/echo", {}, body));
                if (res.error || res.status != 200 || res.body != body) {
                    first_error[c] =
                        res.error ? res.error.message()
                                  : std::to_string(res.status) + " " + res.body.substr(0, 40);
                    return;
                }
                ++good;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (int c = 0; c < clients; ++c) {
        EXPECT_TRUE(first_error[c].empty()) << "client " << c << ": " << first_error[c];
    }
    EXPECT_EQ(good.load(), clients * requests_each);
    EXPECT_EQ(backend.request_count(), static_cast<std::size_t>(clients * requests_each));
}

}  // namespace
}  // namespace spillway::test
