// Limits and bad input: each is answered (431, 413, 400) or closed (slowloris, idle, too many
// connections), and each test then checks that the proxy still serves a normal request.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace spillway::test {
namespace {

using json = nlohmann::json;

class ProxyLimits : public ::testing::Test {
protected:
    ProxyLimits()
        : proxy_(backend_.url(), {{"limits",
                                   {{"max_header_bytes", 4096},
                                    {"header_timeout_ms", 10000},
                                    {"idle_timeout_ms", 10000}}},
                                  {"capture", {{"max_body_bytes", 1024}}}}) {}

    // A rejected request gets `status` with a JSON error and the connection is closed.
    void expect_rejected(const std::string& bytes, unsigned status) {
        http_client client(proxy_.port());
        ASSERT_FALSE(client.connect_error());
        auto res = client.request(bytes);
        ASSERT_FALSE(res.error) << res.error.message();
        EXPECT_EQ(res.status, status);
        EXPECT_EQ(res.header("Content-Type"), "application/json");
        EXPECT_TRUE(json::accept(res.body)) << res.body;
        EXPECT_FALSE(res.keep_alive);
        EXPECT_TRUE(client.wait_closed(2s));
        EXPECT_EQ(backend_.request_count(), 0u) << "a rejected request reached the backend";
        expect_still_serving();
    }

    void expect_still_serving() {
        auto res = fetch(proxy_.port(), "GET", "/after");
        ASSERT_FALSE(res.error) << res.error.message();
        EXPECT_EQ(res.status, 200u);
        EXPECT_EQ(res.body, "GET /after");
    }

    fake_backend backend_;
    spillway_proxy proxy_;
};

TEST_F(ProxyLimits, OversizedHeadersGet431) {
    expect_rejected(make_request("GET", "/big", {{"X-Big", std::string(8000, 'h')}}), 431);
}

TEST_F(ProxyLimits, ManyHeadersOverTheLimitGet431) {
    header_list many;
    for (int i = 0; i < 200; ++i) {
        many.emplace_back("X-Header-" + std::to_string(i), std::string(30, 'v'));
    }
    expect_rejected(make_request("GET", "/many", many), 431);
}

TEST_F(ProxyLimits, HeadersJustUnderTheLimitAreForwarded) {
    auto res = fetch(proxy_.port(), "GET", "/fits", {{"X-Big", std::string(3000, 'h')}});
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
}

TEST_F(ProxyLimits, BodyOverMaxBodyBytesGets413FromItsContentLength) {
    // Only the head is sent: the proxy must answer from Content-Length without the body.
    expect_rejected("POST /upload HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: 2048\r\n\r\n",
                    413);
}

TEST_F(ProxyLimits, ChunkedBodyOverMaxBodyBytesGets413) {
    std::string request =
        "POST /upload HTTP/1.1\r\nHost: proxy.test\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) {
        request += "200\r\n" + std::string(512, 'b') + "\r\n";
    }
    request += "0\r\n\r\n";
    expect_rejected(request, 413);
}

TEST_F(ProxyLimits, BodyAtMaxBodyBytesIsForwarded) {
    auto res = fetch(proxy_.port(), "POST", "/upload", {}, std::string(1024, 'b'));
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    ASSERT_EQ(backend_.request_count(), 1u);
    EXPECT_EQ(backend_.requests()[0].body.size(), 1024u);
}

TEST_F(ProxyLimits, BadRequestLineGets400) {
    expect_rejected("NOT A REQUEST LINE\r\n\r\n", 400);
}

TEST_F(ProxyLimits, BadVersionGets400) {
    expect_rejected("GET / HTTP/x.y\r\nHost: proxy.test\r\n\r\n", 400);
}

TEST_F(ProxyLimits, BadHeaderLineGets400) {
    expect_rejected("GET / HTTP/1.1\r\nHost: proxy.test\r\nBad Header Name: v\r\n\r\n", 400);
}

TEST_F(ProxyLimits, HeaderWithoutColonGets400) {
    expect_rejected("GET / HTTP/1.1\r\nHost: proxy.test\r\nno colon here\r\n\r\n", 400);
}

TEST_F(ProxyLimits, BadContentLengthGets400) {
    expect_rejected("POST / HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: abc\r\n\r\n", 400);
}

TEST_F(ProxyLimits, BadChunkEncodingGets400) {
    expect_rejected(
        "POST / HTTP/1.1\r\nHost: proxy.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        "zz\r\nhello\r\n0\r\n\r\n",
        400);
}

TEST_F(ProxyLimits, BinaryGarbageGets400OrACloseAndNoCrash) {
    http_client client(proxy_.port());
    std::string garbage;
    for (int i = 0; i < 512; ++i) {
        garbage.push_back(static_cast<char>((i * 37 + 11) % 256));
    }
    ASSERT_FALSE(client.send(garbage));
    std::string received;
    EXPECT_TRUE(client.wait_closed(3s, &received));
    if (!received.empty()) {
        EXPECT_EQ(received.rfind("HTTP/1.1 400", 0), 0u) << received.substr(0, 80);
    }
    expect_still_serving();
}

}  // namespace
}  // namespace spillway::test
