// Headers across the proxy: hop-by-hop ones (RFC 9110 §7.6.1, including those named in
// Connection) never cross it in either direction; X-Forwarded-* and X-Request-Id are set.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace spillway::test {
namespace {

class ProxyHeaders : public ::testing::Test {
protected:
    recorded_request forward(const header_list& headers, std::string_view host = "proxy.test") {
        http_client client(proxy_.port());
        auto res = client.request(make_request("GET", "/h", headers, {}, host));
        EXPECT_FALSE(res.error) << res.error.message();
        EXPECT_EQ(res.status, 200u);
        EXPECT_TRUE(backend_.wait_for_requests(1, 1s));
        auto all = backend_.requests();
        return all.empty() ? recorded_request{} : all.back();
    }

    fake_backend backend_;
    spillway_proxy proxy_{backend_.url()};
};

bool is_uuid(const std::string& s) {
    static const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    return std::regex_match(s, uuid);
}

TEST_F(ProxyHeaders, HopByHopRequestHeadersAreNotForwarded) {
    const auto req = forward({{"Connection", "keep-alive, X-Hop-Secret"},
                              {"Keep-Alive", "timeout=5"},
                              {"TE", "trailers"},
                              {"Upgrade", "h2c"},
                              {"Proxy-Connection", "keep-alive"},
                              {"X-Hop-Secret", "must not reach the backend"},
                              {"X-End-To-End", "kept"}});
    for (const char* name :
         {"Keep-Alive", "TE", "Upgrade", "Proxy-Connection", "X-Hop-Secret", "Transfer-Encoding"}) {
        EXPECT_EQ(req.count(name), 0u) << name << " was forwarded";
    }
    // The proxy may send its own Connection header to the backend, but never the client's tokens.
    if (auto connection = req.header("Connection")) {
        EXPECT_EQ(connection->find("X-Hop-Secret"), std::string::npos) << *connection;
    }
    EXPECT_EQ(req.header("X-End-To-End"), "kept");
}

TEST_F(ProxyHeaders, HeadersNamedInSeveralConnectionHeadersAreAllRemoved) {
    const auto req = forward({{"Connection", "X-One"},
                              {"Connection", " x-two ,keep-alive"},
                              {"X-One", "1"},
                              {"X-Two", "2"},
                              {"X-Three", "3"}});
    EXPECT_EQ(req.count("X-One"), 0u);
    EXPECT_EQ(req.count("X-Two"), 0u);  // names match case-insensitively
    EXPECT_EQ(req.header("X-Three"), "3");
}

TEST_F(ProxyHeaders, HopByHopResponseHeadersAreNotRelayed) {
    backend_.on("/h", route{.headers = {{"Connection", "keep-alive, X-Backend-Hop"},
                                        {"Keep-Alive", "timeout=5, max=100"},
                                        {"Proxy-Connection", "keep-alive"},
                                        {"Upgrade", "h2c"},
                                        {"TE", "trailers"},
                                        {"X-Backend-Hop", "secret"},
                                        {"X-Backend-Kept", "visible"}},
                            .body = "ok"});
    http_client client(proxy_.port());
    auto res = client.request(make_request("GET", "/h"));
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.body, "ok");
    for (const char* name : {"Keep-Alive", "Proxy-Connection", "Upgrade", "TE", "X-Backend-Hop"}) {
        EXPECT_EQ(res.count(name), 0u) << name << " was relayed";
    }
    for (const auto& [name, value] : res.headers) {
        if (name == "Connection" || name == "connection") {
            EXPECT_EQ(value.find("X-Backend-Hop"), std::string::npos) << value;
        }
    }
    EXPECT_EQ(res.header("X-Backend-Kept"), "visible");
    // The proxy's own framing for its client: Transfer-Encoding never comes from the backend.
    backend_.on("/c", route{.headers = {{"Connection", "X-Other"}, {"X-Other", "1"}},
                            .body = "chunks",
                            .chunked = true});
    auto chunked = client.request(make_request("GET", "/c"));
    ASSERT_FALSE(chunked.error) << chunked.error.message();
    EXPECT_EQ(chunked.body, "chunks");
    EXPECT_EQ(chunked.count("X-Other"), 0u);
    EXPECT_LE(chunked.count("Transfer-Encoding"), 1u);
}

TEST_F(ProxyHeaders, ForwardedHeadersAreSet) {
    const auto req = forward({}, "shop.example:8080");
    EXPECT_EQ(req.header("X-Forwarded-For"), "127.0.0.1");
    EXPECT_EQ(req.header("X-Forwarded-Proto"), "http");
    EXPECT_EQ(req.header("X-Forwarded-Host"), "shop.example:8080");
    EXPECT_EQ(req.header("Host"), "shop.example:8080");
    EXPECT_EQ(req.count("X-Forwarded-For"), 1u);
}

TEST_F(ProxyHeaders, ForwardedForIsAppendedToTheClients) {
    const auto req = forward({{"X-Forwarded-For", "203.0.113.7, 198.51.100.2"}});
    EXPECT_EQ(req.header("X-Forwarded-For"), "203.0.113.7, 198.51.100.2, 127.0.0.1");
    EXPECT_EQ(req.count("X-Forwarded-For"), 1u);
}

TEST_F(ProxyHeaders, ClientsForwardedProtoAndHostAreReplacedWithWhatThisHopSaw) {
    const auto req =
        forward({{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "evil.test"}}, "real.test");
    EXPECT_EQ(req.header("X-Forwarded-Proto"), "http");
    EXPECT_EQ(req.count("X-Forwarded-Proto"), 1u);
    EXPECT_EQ(req.header("X-Forwarded-Host"), "real.test");
    EXPECT_EQ(req.count("X-Forwarded-Host"), 1u);
}

TEST_F(ProxyHeaders, ClientsRequestIdIsKept) {
    const auto req = forward({{"X-Request-Id", "client-chosen-id-42"}});
    EXPECT_EQ(req.header("X-Request-Id"), "client-chosen-id-42");
    EXPECT_EQ(req.count("X-Request-Id"), 1u);
}

TEST_F(ProxyHeaders, RequestIdIsAUuidWhenTheClientSentNone) {
    const auto first = forward({});
    ASSERT_TRUE(first.header("X-Request-Id").has_value());
    EXPECT_TRUE(is_uuid(*first.header("X-Request-Id"))) << *first.header("X-Request-Id");
    EXPECT_EQ(first.count("X-Request-Id"), 1u);
    const auto second = forward({});
    ASSERT_TRUE(second.header("X-Request-Id").has_value());
    EXPECT_NE(*first.header("X-Request-Id"), *second.header("X-Request-Id"));
}

}  // namespace
}  // namespace spillway::test
