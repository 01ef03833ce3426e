#include "spillway/replay/request_builder.hpp"

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
    return e;
}

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
                                      {"X-Dup", "b"},
                                      {"Idempotency-Key", sample().id}};
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
    EXPECT_EQ(req.headers.size(), 5u);
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
