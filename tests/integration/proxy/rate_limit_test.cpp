// Rate limiting (rate_limit.*) over real sockets: an exact count of 429s for a known burst, with
// the connections spread over two worker threads that share the buckets; separate buckets for
// separate client addresses; X-Forwarded-For believed only from a trusted proxy; /health never
// limited; nothing limited when it is off.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace spillway::test {
namespace {

using json = nlohmann::json;

// rps so small that no token comes back while a test runs: the burst is all a client gets.
json rate_limit(unsigned burst, json trusted = json::array()) {
    return {{"rate_limit",
             {{"requests_per_second", 0.001}, {"burst", burst}, {"trusted_proxies", trusted}}}};
}

double metric_value(const spillway_proxy& p, std::string_view name,
                    const std::map<std::string, std::string>& labels = {}) {
    return p.metric(name, labels).value_or(-1);
}

// One GET from `source` on a new connection.
response get_from(const spillway_proxy& p, std::string_view source, const header_list& extra = {},
                  std::string_view target = "/limited") {
    http_client client(p.port(), 5s, source);
    EXPECT_FALSE(client.connect_error()) << source << ": " << client.connect_error().message();
    return client.request(make_request("GET", target, extra));
}

void expect_rate_limited(const response& res) {
    EXPECT_EQ(res.status, 429u) << res.body;
    const auto retry_after = std::stoi(res.header("Retry-After").value_or("0"));
    EXPECT_GE(retry_after, 990);  // 1 token per 1000 s: the next one is ~1000 s away
    EXPECT_LE(retry_after, 1000);
    EXPECT_EQ(res.header("Content-Type"), "application/json");
    const auto body = json::parse(res.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << res.body;
    EXPECT_EQ(body.value("error", ""), "rate_limited");
    EXPECT_EQ(body.value("retry_after", 0), retry_after);
    EXPECT_EQ(body.value("request_id", ""), res.header("X-Request-Id").value_or("none"));
}

TEST(ProxyRateLimit, ExactlyTheBurstPassesAcrossWorkersAndTheRestGet429) {
    fake_backend backend;
    json settings = rate_limit(5);
    settings["threads"] = 2;  // connections land on both workers: the buckets must be shared
    settings["log"] = {{"level", "info"}};
    spillway_proxy proxy(backend.url(), settings);

    unsigned ok = 0;
    unsigned limited = 0;
    auto count = [&](const response& res) {
        ASSERT_FALSE(res.error) << res.error.message();
        if (res.status == 200) {
            ++ok;
        } else {
            expect_rate_limited(res);
            ++limited;
        }
    };
    for (int i = 0; i < 12; ++i) {  // a new connection each: spread over the workers
        count(fetch(proxy.port(), "GET", "/limited"));
    }
    http_client kept(proxy.port());  // and several requests on one kept-alive connection
    for (int i = 0; i < 8; ++i) {
        const auto res = kept.request(make_request("GET", "/limited"));
        count(res);
        EXPECT_TRUE(res.keep_alive) << "a 429 keeps the connection open";
    }
    EXPECT_EQ(ok, 5u);
    EXPECT_EQ(limited, 15u);
    EXPECT_EQ(backend.request_count(), 5u) << "a limited request is never forwarded";
    EXPECT_EQ(metric_value(proxy, "spillway_rate_limited_total"), 15);
    EXPECT_EQ(metric_value(proxy, "spillway_requests_total", {{"outcome", "rejected"}}), 15);
    EXPECT_EQ(metric_value(proxy, "spillway_requests_total", {{"outcome", "proxied"}}), 5);
    ASSERT_TRUE(proxy.proc().wait_for_output("outcome=rejected flags=RL", 5s, 15));
}

TEST(ProxyRateLimit, EachClientAddressHasItsOwnBucket) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), rate_limit(2));
    for (std::string_view source : {"127.0.0.2", "127.0.0.3"}) {
        EXPECT_EQ(get_from(proxy, source).status, 200u) << source;
        EXPECT_EQ(get_from(proxy, source).status, 200u) << source;
        expect_rate_limited(get_from(proxy, source));
    }
    EXPECT_EQ(backend.request_count(), 4u);
}

TEST(ProxyRateLimit, ForwardedForIsBelievedOnlyFromATrustedProxy) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), rate_limit(1, json::array({"127.0.0.2"})));
    // Through the trusted proxy: each forwarded-for client has its own bucket.
    EXPECT_EQ(get_from(proxy, "127.0.0.2", {{"X-Forwarded-For", "198.51.100.1"}}).status, 200u);
    expect_rate_limited(get_from(proxy, "127.0.0.2", {{"X-Forwarded-For", "198.51.100.1"}}));
    EXPECT_EQ(get_from(proxy, "127.0.0.2", {{"X-Forwarded-For", "198.51.100.2"}}).status, 200u);
    // A spoofed entry left of the one the trusted proxy appended is not believed.
    expect_rate_limited(
        get_from(proxy, "127.0.0.2", {{"X-Forwarded-For", "203.0.113.50, 198.51.100.2"}}));
    // From an untrusted peer the header is ignored: its own address is the client.
    EXPECT_EQ(get_from(proxy, "127.0.0.3", {{"X-Forwarded-For", "198.51.100.3"}}).status, 200u);
    expect_rate_limited(get_from(proxy, "127.0.0.3", {{"X-Forwarded-For", "198.51.100.4"}}));
    EXPECT_EQ(backend.request_count(), 3u);
}

TEST(ProxyRateLimit, HealthChecksAreNeverLimited) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), rate_limit(1));
    http_client client(proxy.port());
    for (int i = 0; i < 10; ++i) {
        const auto res = client.request(make_request("GET", "/health"));
        ASSERT_EQ(res.status, 200u) << i;
    }
    EXPECT_EQ(client.request(make_request("GET", "/limited")).status, 200u);  // its token is there
    expect_rate_limited(client.request(make_request("GET", "/limited")));
    EXPECT_EQ(client.request(make_request("GET", "/health")).status, 200u);
}

TEST(ProxyRateLimit, OffByDefault) {
    fake_backend backend;
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port());
    for (int i = 0; i < 30; ++i) {
        ASSERT_EQ(client.request(make_request("GET", "/free")).status, 200u) << i;
    }
    EXPECT_EQ(metric_value(proxy, "spillway_rate_limited_total"), 0);
}

TEST(ProxyRateLimit, ABadTrustedProxyIsAConfigErrorNamingTheKey) {
    temp_dir dir("spillway-rate-limit-config");
    std::ofstream(dir / "bad.json")
        << R"({"rate_limit":{"requests_per_second":1,"trusted_proxies":["10.0.0.0/40"]}})";
    auto r = run_command({bin_path("spillway"),
                          {"--config", (dir / "bad.json").string(), "--check-config"},
                          {},
                          "spillway"},
                         10s);
    EXPECT_EQ(r.exit_status, 2);
    EXPECT_NE(r.err.find("rate_limit.trusted_proxies: \"10.0.0.0/40\""), std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace spillway::test
