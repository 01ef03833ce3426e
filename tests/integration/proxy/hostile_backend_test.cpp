// The backend is hostile input too (DESIGN.md, "Hostile input never crashes, stalls or exhausts
// the proxy"): framing no honest server writes (an endless chunk-size line, a huge chunk
// extension, a 70 KB trailer field, an endless head) ends that one exchange and nothing else.
// After the head went to the client, its connection is closed without the body's end, so it
// cannot take the answer as whole; before, the request fails as when the backend breaks (502, or
// 503 when captured). The proxy stays up, its other connections are served, and it stops reading
// the backend instead of holding what it sends.

#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"
#include "support/stepped_backend.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace spillway::test {
namespace {

const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string first_chunk = "5\r\nhello\r\n";
constexpr std::size_t mib = 1024 * 1024;

class ProxyHostileBackend : public ::testing::Test {
protected:
    ProxyHostileBackend() {
        backend_.on("/ok", {{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}});
        EXPECT_FALSE(other_.connect_error());
        EXPECT_EQ(other_.request(make_request("GET", "/ok")).status, 200u);
    }

    // The proxy stays up and serves the connection that was open all along.
    void expect_unaffected() {
        auto again = other_.request(make_request("GET", "/ok"));
        ASSERT_FALSE(again.error) << again.error.message();
        EXPECT_EQ(again.body, "ok");
        EXPECT_TRUE(proxy_.proc().running());
    }

    // Asks for `path`, whose answer's head is fine and whose body turns hostile after "hello".
    void expect_closed_after_head(const std::string& path, std::string script) {
        backend_.on(path, {{std::move(script)}});
        http_client client(proxy_.port(), 10s);
        ASSERT_FALSE(client.send(make_request("GET", path)));
        std::string got;
        EXPECT_TRUE(client.wait_closed(10s, &got)) << "the client was kept waiting";
        EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got.substr(0, 200);
        EXPECT_NE(got.find("\r\n\r\n5\r\nhello\r\n"), std::string::npos) << got.substr(0, 200);
        EXPECT_EQ(got.find("0\r\n\r\n"), std::string::npos) << "the body looked whole: " << got;
        // The proxy closed the backend's connection: the backend's write of the rest failed.
        EXPECT_TRUE(backend_.wait_for_ended_connections(1, 10s));
        expect_unaffected();
    }

    stepped_backend backend_{{{}}, SIZE_MAX};
    spillway_proxy proxy_{backend_.url()};
    http_client other_{proxy_.port()};
};

TEST_F(ProxyHostileBackend, EndlessChunkSizeLineClosesTheClientConnection) {
    expect_closed_after_head("/endless-size",
                             chunked_head + first_chunk + "1;" + std::string(4 * mib, 'a'));
}

TEST_F(ProxyHostileBackend, HugeChunkExtensionClosesTheClientConnection) {
    expect_closed_after_head("/extension", chunked_head + first_chunk +
                                               "5;ext=" + std::string(mib, 'x') +
                                               "\r\nworld\r\n0\r\n\r\n" + std::string(mib, 'z'));
}

TEST_F(ProxyHostileBackend, SeventyKilobyteTrailerFieldClosesTheClientConnection) {
    expect_closed_after_head("/trailer", chunked_head + first_chunk +
                                             "0\r\nX-Big: " + std::string(70'000, 'a') +
                                             "\r\n\r\n" + std::string(mib, 'z'));
}

TEST_F(ProxyHostileBackend, TrailerFieldsAreNeverForwardedAsHeaders) {
    backend_.on("/trailers", {{chunked_head + first_chunk +
                               "0\r\nX-Trailer: evil\r\nSet-Cookie: session=evil\r\n\r\n"}});
    auto res = other_.request(make_request("GET", "/trailers"));
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.body, "hello");
    EXPECT_EQ(res.count("X-Trailer"), 0u);
    EXPECT_EQ(res.count("Set-Cookie"), 0u);
    expect_unaffected();
}

TEST_F(ProxyHostileBackend, EndlessHeadIsABackendFailure) {
    backend_.on("/endless-head", {{"HTTP/1.1 200 OK\r\nX-Long: " + std::string(4 * mib, 'a')}});
    http_client client(proxy_.port(), 10s);
    auto res = client.request(make_request("GET", "/endless-head"));
    ASSERT_FALSE(res.error) << res.error.message();
    // A gateway error, or 503 once captured (to the spool: no Kafka listens).
    EXPECT_TRUE(res.status == 502 || res.status == 503) << res.status;
    EXPECT_TRUE(nlohmann::json::accept(res.body)) << res.body;
    EXPECT_EQ(res.header("X-Long"), std::nullopt);
    expect_unaffected();
}

}  // namespace
}  // namespace spillway::test
