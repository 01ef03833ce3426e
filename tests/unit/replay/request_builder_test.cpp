#include "spillway/replay/request_builder.hpp"

#include "spillway/proxy/message_heads.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

envelope::envelope sample() {
    envelope::envelope e;
    e.id = "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11";
    e.method = "POST";
    e.uri = "/api/users?source=web";
    e.headers = {{"Host", "localhost:8080"},
                 {"content-type", "application/json"},
                 {"X-Dup", "a"},
                 {"X-Dup", "b"}};
    e.body = std::string("{\"name\":\"J\0hn\"}", 15);
    e.client_ip = "10.0.0.9";
    return e;
}

// What the replay adds after the client's headers: X-Forwarded-* as the live attempt had them.
const envelope::header_list forwarded_for_sample = {{"X-Forwarded-Host", "localhost:8080"},
                                                    {"X-Forwarded-For", "10.0.0.9"},
                                                    {"X-Forwarded-Proto", "http"}};

const outgoing_request& ok(const std::variant<outgoing_request, rejection>& r) {
    EXPECT_TRUE(std::holds_alternative<outgoing_request>(r)) << std::get<rejection>(r).reason;
    return std::get<outgoing_request>(r);
}

std::string rejected(const std::variant<outgoing_request, rejection>& r) {
    return std::holds_alternative<rejection>(r) ? std::get<rejection>(r).reason : "";
}

TEST(BuildRequest, KeepsMethodTargetHeadersInOrderAndBody) {
    auto r = build_request(sample(), "backend:3000");
    const auto& req = ok(r);
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.target, "/api/users?source=web");
    EXPECT_EQ(req.body, sample().body);
    envelope::header_list expected = {{"Host", "localhost:8080"},
                                      {"content-type", "application/json"},
                                      {"X-Dup", "a"},
                                      {"X-Dup", "b"}};
    expected.insert(expected.end(), forwarded_for_sample.begin(), forwarded_for_sample.end());
    expected.emplace_back("Idempotency-Key", sample().id);
    EXPECT_EQ(req.headers, expected);
    EXPECT_EQ(req.idempotency_key, sample().id);
}

TEST(BuildRequest, TheWireHeadHasTheRequestLineHeadersInOrderTheAttemptAndTheLength) {
    auto req = ok(build_request(sample(), "b"));
    std::string head = "left alone|";
    append_wire_head(head, req, 3);
    EXPECT_EQ(head,
              "left alone|"
              "POST /api/users?source=web HTTP/1.1\r\n"
              "Host: localhost:8080\r\n"
              "content-type: application/json\r\n"
              "X-Dup: a\r\n"
              "X-Dup: b\r\n"
              "X-Forwarded-Host: localhost:8080\r\n"
              "X-Forwarded-For: 10.0.0.9\r\n"
              "X-Forwarded-Proto: http\r\n"
              "Idempotency-Key: " +
                  sample().id +
                  "\r\n"
                  "X-Spillway-Replay-Attempt: 3\r\n"
                  "Content-Length: " +
                  std::to_string(sample().body.size()) + "\r\n\r\n");
}

TEST(BuildRequest, TheWireHeadHasContentLengthOnlyWhenThereIsABodyOrTheMethodCarriesOne) {
    auto e = sample();
    e.method = "GET";
    e.body.clear();
    std::string get;
    append_wire_head(get, ok(build_request(e, "b")), 1);
    EXPECT_EQ(get.find("Content-Length"), std::string::npos) << get;
    e.method = "PUT";
    std::string put;
    append_wire_head(put, ok(build_request(e, "b")), 1);
    EXPECT_NE(put.find("\r\nContent-Length: 0\r\n\r\n"), std::string::npos) << put;
}

TEST(BuildRequest, KeepsTheClientsIdempotencyKeyCaseInsensitively) {
    auto e = sample();
    e.headers.emplace_back("idempotency-KEY", "client-key");
    auto req = ok(build_request(e, "b"));
    EXPECT_EQ(req.idempotency_key, "client-key");
    int keys = 0;
    for (const auto& [name, value] : req.headers) {
        keys += (name == "idempotency-KEY" || name == "Idempotency-Key") ? 1 : 0;
    }
    EXPECT_EQ(keys, 1);
}

TEST(BuildRequest, AddsBackendHostWhenTheClientSentNone) {
    auto e = sample();
    e.headers.erase(e.headers.begin());
    auto req = ok(build_request(e, "backend:3000"));
    EXPECT_EQ(req.headers.front(), (std::pair<std::string, std::string>{"Host", "backend:3000"}));
}

TEST(BuildRequest, DropsFramingAndHopByHopHeaders) {
    auto e = sample();
    e.headers.emplace_back("Content-Length", "999");
    e.headers.emplace_back("Transfer-Encoding", "chunked");
    e.headers.emplace_back("Connection", "close, X-Private");
    e.headers.emplace_back("X-Private", "secret");
    e.headers.emplace_back("Keep-Alive", "timeout=5");
    e.headers.emplace_back("Expect", "100-continue");
    e.headers.emplace_back("X-Spillway-Replay-Attempt", "99");
    auto req = ok(build_request(e, "b"));
    EXPECT_EQ(req.headers.size(), 8u);  // 4 of the client's, 3 X-Forwarded-*, the key
}

TEST(BuildRequest, UsesTheConfiguredIdempotencyHeaderOrNone) {
    auto e = sample();
    auto req = ok(build_request(e, "b", "X-Dedupe"));
    EXPECT_EQ(req.headers.back(), (std::pair<std::string, std::string>{"X-Dedupe", e.id}));
    e.headers.emplace_back("x-dedupe", "client-key");
    req = ok(build_request(e, "b", "X-Dedupe"));
    EXPECT_EQ(req.idempotency_key, "client-key");
    EXPECT_NE(req.headers.back().first, "X-Dedupe");

    req = ok(build_request(sample(), "b", ""));
    EXPECT_TRUE(req.idempotency_key.empty());
    for (const auto& [name, value] : req.headers) {
        EXPECT_NE(name, "Idempotency-Key");
    }
}

std::optional<std::string> value_of(const envelope::header_list& headers, std::string_view name) {
    std::optional<std::string> out;
    for (const auto& [n, v] : headers) {
        if (n == name) {
            EXPECT_FALSE(out.has_value()) << name << " twice";
            out = v;
        }
    }
    return out;
}

TEST(BuildRequest, TheClientsForwardedHeadersAreNeverReplayedAsSent) {
    auto e = sample();
    e.headers.emplace_back("X-Forwarded-For", "6.6.6.6");
    e.headers.emplace_back("X-Forwarded-Host", "admin.internal");
    e.headers.emplace_back("x-forwarded-proto", "https");
    const auto req = ok(build_request(e, "b"));
    EXPECT_EQ(value_of(req.headers, "X-Forwarded-For"), "6.6.6.6, 10.0.0.9");
    EXPECT_EQ(value_of(req.headers, "X-Forwarded-Host"), "localhost:8080");
    EXPECT_EQ(value_of(req.headers, "X-Forwarded-Proto"), "http");
    EXPECT_EQ(value_of(req.headers, "x-forwarded-proto"), std::nullopt);
}

TEST(BuildRequest, ForwardedHeadersFromTheSchemeAndAnUnknownPeer) {
    auto e = sample();
    e.scheme = "https";
    e.client_ip = "10.0.0.9\r\nX-Evil: 1";  // not an address: unknown, never sent as is
    auto req = ok(build_request(e, "b"));
    EXPECT_EQ(value_of(req.headers, "X-Forwarded-Proto"), "https");
    EXPECT_EQ(value_of(req.headers, "X-Forwarded-For"), "unknown");
    e.client_ip.clear();  // an older or foreign envelope without it
    e.headers.erase(e.headers.begin());  // and without Host: none forwarded either
    req = ok(build_request(e, "b"));
    EXPECT_EQ(value_of(req.headers, "X-Forwarded-For"), "unknown");
    EXPECT_EQ(value_of(req.headers, "X-Forwarded-Host"), std::nullopt);
}

// One rule for both (http/forwarded.hpp): what the live attempt sent is what the replay sends.
TEST(BuildRequest, LiveAndReplayCarryTheSameForwardedHeadersAndKey) {
    proxy::client_request live{proxy::http::verb::post, "/slow", 11};
    live.set(proxy::http::field::host, "shop.test");
    live.insert("X-Forwarded-For", "6.6.6.6");
    live.insert("X-Forwarded-Host", "admin.internal");
    live.insert("X-Forwarded-Proto", "https");
    live.insert("x-forwarded-for", "7.7.7.7");
    std::string head;
    const std::string id = sample().id;  // the context holds views: it must outlive them
    proxy::forward_context ctx{"10.0.0.9", id, "backend:3000"};
    ctx.idempotency_header = "Idempotency-Key";
    proxy::build_upstream_request_head(head, live, ctx);

    auto e = sample();
    e.uri = "/slow";
    e.headers = {{"Host", "shop.test"},
                 {"X-Forwarded-For", "6.6.6.6"},
                 {"X-Forwarded-Host", "admin.internal"},
                 {"X-Forwarded-Proto", "https"},
                 {"x-forwarded-for", "7.7.7.7"}};
    e.scheme = "http";
    std::string replayed;
    append_wire_head(replayed, ok(build_request(e, "b", "Idempotency-Key")), 1);
    for (const auto& line : std::vector<std::string>{
             "X-Forwarded-For: 6.6.6.6, 7.7.7.7, 10.0.0.9\r\n", "X-Forwarded-Host: shop.test\r\n",
             "X-Forwarded-Proto: http\r\n", "Idempotency-Key: " + e.id + "\r\n"}) {
        EXPECT_NE(head.find(line), std::string::npos) << line << head;
        EXPECT_NE(replayed.find(line), std::string::npos) << line << replayed;
    }
    EXPECT_EQ(replayed.find("admin.internal"), std::string::npos) << replayed;
    EXPECT_EQ(head.find("admin.internal"), std::string::npos) << head;
}

TEST(BuildRequest, RejectsWhatCouldSplitOrRedirectTheRequest) {
    auto e = sample();
    e.headers.emplace_back("X-Evil", "a\r\nX-Injected: 1");
    EXPECT_NE(rejected(build_request(e, "b")).find("control character"), std::string::npos);

    e = sample();
    e.headers.emplace_back("X-Nul", std::string("a\0b", 3));
    EXPECT_FALSE(rejected(build_request(e, "b")).empty());

    e = sample();
    e.headers.emplace_back("Bad Name", "x");
    EXPECT_NE(rejected(build_request(e, "b")).find("not a token"), std::string::npos);

    e = sample();
    e.headers.emplace_back("X-Lf\n", "x");
    EXPECT_FALSE(rejected(build_request(e, "b")).empty());

    e = sample();
    e.method = "GET /x HTTP/1.1\r\n";
    EXPECT_NE(rejected(build_request(e, "b")).find("method"), std::string::npos);

    e = sample();
    e.uri = "http://evil.example/steal";
    EXPECT_NE(rejected(build_request(e, "b")).find("origin-form"), std::string::npos);

    e = sample();
    e.uri = "/a b";
    EXPECT_FALSE(rejected(build_request(e, "b")).empty());

    e = sample();
    e.headers.emplace_back("HOST", "other");
    EXPECT_NE(rejected(build_request(e, "b")).find("Host"), std::string::npos);
}

TEST(BuildRequest, AllowsTabsAndHighBytesInValues) {
    auto e = sample();
    e.headers.emplace_back("X-Tab", "a\tb \xc3\xa9");
    ok(build_request(e, "b"));
}

}  // namespace
}  // namespace spillway::replay
