// The heads the proxy writes itself: the request head for the backend and the response head for
// the client, and the choice of response framing.

#include "spillway/proxy/message_heads.hpp"

#include "spillway/proxy/response_writer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace spillway::proxy {
namespace {

struct parsed_head {
    std::string first_line;
    std::vector<std::pair<std::string, std::string>> headers;
    bool terminated = false;  // ends with the blank line

    std::vector<std::string> values(std::string_view name) const {
        std::vector<std::string> out;
        for (const auto& [n, v] : headers) {
            if (n.size() == name.size() &&
                std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                })) {
                out.push_back(v);
            }
        }
        return out;
    }
    std::string value(std::string_view name) const {
        auto v = values(name);
        return v.size() == 1 ? v[0] : "<" + std::to_string(v.size()) + " values>";
    }
    bool has(std::string_view name) const { return !values(name).empty(); }
};

parsed_head parse_head(const std::string& text) {
    parsed_head out;
    out.terminated = text.size() >= 4 && text.compare(text.size() - 4, 4, "\r\n\r\n") == 0;
    std::size_t pos = text.find("\r\n");
    out.first_line = text.substr(0, pos);
    while (pos != std::string::npos && pos + 2 < text.size()) {
        const auto start = pos + 2;
        pos = text.find("\r\n", start);
        const auto line = text.substr(start, pos - start);
        if (line.empty()) {
            break;
        }
        const auto colon = line.find(": ");
        out.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    }
    return out;
}

client_request make_request(http::verb method, std::string target, unsigned version = 11) {
    client_request req{method, target, version};
    return req;
}

parsed_head upstream_head(const client_request& req, std::string_view client_ip = "10.0.0.9",
                          std::string_view id = "generated-id") {
    std::string out;
    build_upstream_request_head(out, req, forward_context{client_ip, id, "backend:3000"});
    return parse_head(out);
}

TEST(UpstreamRequestHead, RequestLineIsHttp11WithTheTargetAsReceived) {
    auto req = make_request(http::verb::get, "/a/b?c=d%20e&f", 10);
    req.set(http::field::host, "shop.test");
    const auto head = upstream_head(req);
    EXPECT_EQ(head.first_line, "GET /a/b?c=d%20e&f HTTP/1.1");
    EXPECT_TRUE(head.terminated);
}

TEST(UpstreamRequestHead, HopByHopHeadersAreDropped) {
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "shop.test");
    req.insert(http::field::connection, "keep-alive, X-Secret");
    req.insert("Keep-Alive", "timeout=5");
    req.insert(http::field::te, "trailers");
    req.insert(http::field::upgrade, "h2c");
    req.insert("Proxy-Connection", "keep-alive");
    req.insert("X-Secret", "hidden");
    req.insert("X-Kept", "1");
    const auto head = upstream_head(req);
    for (const char* name : {"Keep-Alive", "TE", "Upgrade", "Proxy-Connection", "X-Secret"}) {
        EXPECT_FALSE(head.has(name)) << name;
    }
    for (const auto& v : head.values("Connection")) {
        EXPECT_EQ(v.find("X-Secret"), std::string::npos) << v;
    }
    EXPECT_EQ(head.value("X-Kept"), "1");
}

TEST(UpstreamRequestHead, AnUpgradeIsSentWithConnectionUpgradeOnce) {
    auto req = make_request(http::verb::get, "/chat");
    req.set(http::field::host, "chat.test");
    req.insert(http::field::connection, "keep-alive, Upgrade, X-Secret");
    req.insert(http::field::upgrade, "websocket");
    req.insert("X-Secret", "hidden");
    req.insert("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    std::string out;
    build_upstream_request_head(out, req,
                                forward_context{.client_ip = "10.0.0.9",
                                                .request_id = "id",
                                                .backend_host = "backend:3000",
                                                .upgrade = "websocket"});
    const auto head = parse_head(out);
    EXPECT_EQ(head.value("Connection"), "Upgrade");
    EXPECT_EQ(head.value("Upgrade"), "websocket");
    EXPECT_EQ(head.value("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==");
    EXPECT_FALSE(head.has("X-Secret")) << "other headers Connection names are still dropped";
}

TEST(SwitchingProtocolsHead, BackendHeadersPassWithConnectionAndUpgradeForThisHop) {
    http::response_header<> res;
    res.result(http::status::switching_protocols);
    res.version(11);
    res.insert(http::field::connection, "Upgrade, X-Hop");
    res.insert(http::field::upgrade, "websocket");
    res.insert("X-Hop", "private");
    res.insert("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    std::string out;
    ASSERT_TRUE(build_switching_protocols_head(out, res));
    const auto head = parse_head(out);
    EXPECT_EQ(head.first_line, "HTTP/1.1 101 Switching Protocols");
    EXPECT_EQ(head.value("Connection"), "Upgrade");
    EXPECT_EQ(head.value("Upgrade"), "websocket");
    EXPECT_EQ(head.value("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_FALSE(head.has("X-Hop"));
    EXPECT_TRUE(head.terminated);
}

TEST(SwitchingProtocolsHead, A101WithoutUpgradeIsRefused) {
    http::response_header<> res;
    res.result(http::status::switching_protocols);
    res.insert(http::field::connection, "Upgrade");
    std::string out;
    EXPECT_FALSE(build_switching_protocols_head(out, res));
}

TEST(UpstreamRequestHead, ConnectionCannotRemoveHost) {
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "shop.test");
    req.insert(http::field::connection, "keep-alive, Host");
    const auto head = upstream_head(req);
    EXPECT_EQ(head.value("Host"), "shop.test");
    EXPECT_EQ(head.value("X-Forwarded-Host"), "shop.test");
}

TEST(UpstreamRequestHead, EmptyHostIsSentOnceAsItCame) {
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "");
    const auto head = upstream_head(req);
    EXPECT_EQ(head.values("Host"), std::vector<std::string>{""});
    EXPECT_FALSE(head.has("X-Forwarded-Host"));
}

TEST(UpstreamRequestHead, EndToEndHeadersKeepTheirOrderAndDuplicates) {
    // (Beast's fields container groups a repeated name after its first occurrence, so only
    // orders it can hold are checked.)
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "shop.test");
    req.insert("X-C", "c");
    req.insert("X-A", "1");
    req.insert("X-A", "2");
    req.insert("X-B", "b");
    const auto head = upstream_head(req);
    EXPECT_EQ(head.values("X-A"), (std::vector<std::string>{"1", "2"}));
    std::vector<std::string> order;
    for (const auto& [n, v] : head.headers) {
        if (n.rfind("X-", 0) == 0 && n.size() == 3) {
            order.push_back(n + "=" + v);
        }
    }
    EXPECT_EQ(order, (std::vector<std::string>{"X-C=c", "X-A=1", "X-A=2", "X-B=b"}));
}

TEST(UpstreamRequestHead, ForwardedHeadersAreSet) {
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "shop.test:8080");
    const auto head = upstream_head(req);
    EXPECT_EQ(head.value("Host"), "shop.test:8080");
    EXPECT_EQ(head.value("X-Forwarded-For"), "10.0.0.9");
    EXPECT_EQ(head.value("X-Forwarded-Proto"), "http");
    EXPECT_EQ(head.value("X-Forwarded-Host"), "shop.test:8080");
}

TEST(UpstreamRequestHead, ForwardedForAppendsToEveryClientValue) {
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "h");
    req.insert("X-Forwarded-For", "1.1.1.1");
    req.insert("x-forwarded-for", "2.2.2.2, 3.3.3.3");
    req.insert("X-Forwarded-Proto", "https");
    req.insert("X-Forwarded-Host", "spoofed");
    const auto head = upstream_head(req);
    EXPECT_EQ(head.value("X-Forwarded-For"), "1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9");
    EXPECT_EQ(head.value("X-Forwarded-Proto"), "http");
    EXPECT_EQ(head.value("X-Forwarded-Host"), "h");
}

TEST(UpstreamRequestHead, ForwardedForNamedInConnectionIsNotPartOfTheChain) {
    // Never sent, and left out of the envelope: the replay derives the same chain.
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "h");
    req.insert("Connection", "X-Forwarded-For");
    req.insert("X-Forwarded-For", "1.1.1.1");
    EXPECT_EQ(upstream_head(req).value("X-Forwarded-For"), "10.0.0.9");
}

parsed_head head_with_key(const client_request& req, std::string_view key_header) {
    std::string out;
    forward_context ctx{"10.0.0.9", "the-request-id", "backend:3000"};
    ctx.idempotency_header = key_header;
    build_upstream_request_head(out, req, ctx);
    return parse_head(out);
}

TEST(UpstreamRequestHead, IdempotencyKeyIsTheRequestIdUnlessTheClientSentOne) {
    auto req = make_request(http::verb::post, "/slow");
    req.set(http::field::host, "h");
    EXPECT_EQ(head_with_key(req, "Idempotency-Key").value("Idempotency-Key"), "the-request-id");
    EXPECT_EQ(head_with_key(req, "X-Dedupe").value("X-Dedupe"), "the-request-id");
    EXPECT_FALSE(head_with_key(req, "X-Dedupe").has("Idempotency-Key"));
    EXPECT_FALSE(head_with_key(req, "").has("Idempotency-Key"));  // "" turns it off

    req.insert("idempotency-KEY", "client-key");
    const auto head = head_with_key(req, "Idempotency-Key");
    EXPECT_EQ(head.value("Idempotency-Key"), "client-key");  // the client's, once
}

TEST(UpstreamRequestHead, AClientKeyNamedInConnectionWasNotSentSoTheIdIs) {
    auto req = make_request(http::verb::post, "/");
    req.set(http::field::host, "h");
    req.insert("Connection", "Idempotency-Key");
    req.insert("Idempotency-Key", "client-key");
    EXPECT_EQ(head_with_key(req, "Idempotency-Key").value("Idempotency-Key"), "the-request-id");
}

TEST(UpstreamRequestHead, RequestIdIsTheClientsOrTheGeneratedOne) {
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "h");
    EXPECT_EQ(upstream_head(req).value("X-Request-Id"), "generated-id");
    EXPECT_FALSE(client_request_id(req).has_value());

    req.insert("x-request-id", "mine");
    EXPECT_EQ(upstream_head(req).value("X-Request-Id"), "mine");
    ASSERT_TRUE(client_request_id(req).has_value());
    EXPECT_EQ(*client_request_id(req), "mine");
}

TEST(UpstreamRequestHead, Http10WithoutHostGetsTheBackendsHost) {
    auto req = make_request(http::verb::get, "/", 10);
    const auto head = upstream_head(req);
    EXPECT_EQ(head.value("Host"), "backend:3000");
    EXPECT_FALSE(head.has("X-Forwarded-Host"));
}

TEST(UpstreamRequestHead, BodyLengthReplacesChunkedAndExpect) {
    auto req = make_request(http::verb::post, "/upload");
    req.set(http::field::host, "h");
    req.insert(http::field::transfer_encoding, "chunked");
    req.insert(http::field::expect, "100-continue");
    req.body() = "twelve bytes";
    const auto head = upstream_head(req);
    EXPECT_EQ(head.value("Content-Length"), "12");
    EXPECT_FALSE(head.has("Transfer-Encoding"));
    EXPECT_FALSE(head.has("Expect"));
}

TEST(UpstreamRequestHead, EmptyPostStillSaysContentLength0) {
    auto req = make_request(http::verb::post, "/empty");
    req.set(http::field::host, "h");
    EXPECT_EQ(upstream_head(req).value("Content-Length"), "0");
}

TEST(UpstreamRequestHead, GetWithoutBodyHasNoContentLength) {
    auto req = make_request(http::verb::get, "/");
    req.set(http::field::host, "h");
    EXPECT_FALSE(upstream_head(req).has("Content-Length"));
}

http::response_header<> make_response(unsigned status) {
    http::response_header<> res;
    res.result(status);
    res.version(11);
    return res;
}

TEST(ChooseFraming, BodilessResponses) {
    EXPECT_EQ(choose_framing(make_response(200), true, 100, true), body_framing::none);
    EXPECT_EQ(choose_framing(make_response(204), false, std::nullopt, true), body_framing::none);
    EXPECT_EQ(choose_framing(make_response(304), false, 100, true), body_framing::none);
    EXPECT_EQ(choose_framing(make_response(100), false, std::nullopt, true), body_framing::none);
    EXPECT_EQ(choose_framing(make_response(103), false, std::nullopt, false), body_framing::none);
}

TEST(ChooseFraming, LengthKnownOrNot) {
    EXPECT_EQ(choose_framing(make_response(200), false, 0, true), body_framing::content_length);
    EXPECT_EQ(choose_framing(make_response(404), false, 5, false), body_framing::content_length);
    EXPECT_EQ(choose_framing(make_response(200), false, std::nullopt, true), body_framing::chunked);
    EXPECT_EQ(choose_framing(make_response(200), false, std::nullopt, false),
              body_framing::until_close);
}

parsed_head client_head(const http::response_header<>& res, body_framing framing,
                        std::optional<std::uint64_t> length, bool keep_alive, bool http11) {
    std::string out;
    build_client_response_head(out, res, framing, length, keep_alive, http11);
    return parse_head(out);
}

TEST(ClientResponseHead, StatusLineAndEndToEndHeaders) {
    auto res = make_response(201);
    res.set(http::field::content_type, "application/json");
    res.insert("X-Backend", "1");
    const auto head = client_head(res, body_framing::content_length, 42, true, true);
    EXPECT_EQ(head.first_line, "HTTP/1.1 201 Created");
    EXPECT_TRUE(head.terminated);
    EXPECT_EQ(head.value("Content-Type"), "application/json");
    EXPECT_EQ(head.value("X-Backend"), "1");
    EXPECT_EQ(head.value("Content-Length"), "42");
    EXPECT_FALSE(head.has("Transfer-Encoding"));
    EXPECT_FALSE(head.has("Connection"));  // HTTP/1.1 keep-alive is the default
}

TEST(ClientResponseHead, BackendsReasonPhraseIsKept) {
    auto res = make_response(299);
    res.reason("Custom Thing");
    EXPECT_EQ(client_head(res, body_framing::content_length, 0, true, true).first_line,
              "HTTP/1.1 299 Custom Thing");
}

TEST(ClientResponseHead, HopByHopHeadersAndBackendFramingAreDropped) {
    auto res = make_response(200);
    res.insert(http::field::connection, "keep-alive, X-Hop");
    res.insert("Keep-Alive", "timeout=5");
    res.insert(http::field::transfer_encoding, "chunked");
    res.insert("Proxy-Connection", "keep-alive");
    res.insert(http::field::upgrade, "h2c");
    res.insert("X-Hop", "secret");
    res.insert("X-Kept", "1");
    const auto head = client_head(res, body_framing::chunked, std::nullopt, true, true);
    for (const char* name : {"Keep-Alive", "Proxy-Connection", "Upgrade", "X-Hop"}) {
        EXPECT_FALSE(head.has(name)) << name;
    }
    EXPECT_EQ(head.value("Transfer-Encoding"), "chunked");  // the proxy's own, once
    EXPECT_FALSE(head.has("Connection"));
    EXPECT_EQ(head.value("X-Kept"), "1");
}

TEST(ClientResponseHead, ConnectionDecision) {
    const auto res = make_response(200);
    EXPECT_EQ(client_head(res, body_framing::content_length, 1, false, true).value("Connection"),
              "close");
    EXPECT_EQ(client_head(res, body_framing::content_length, 1, true, false).value("Connection"),
              "keep-alive");
    EXPECT_EQ(
        client_head(res, body_framing::until_close, std::nullopt, false, false).value("Connection"),
        "close");
}

TEST(ClientResponseHead, UntilCloseHasNoFramingHeader) {
    const auto head =
        client_head(make_response(200), body_framing::until_close, std::nullopt, false, false);
    EXPECT_FALSE(head.has("Content-Length"));
    EXPECT_FALSE(head.has("Transfer-Encoding"));
}

TEST(ClientResponseHead, HeadAnd304KeepTheLengthAsMetadata) {
    EXPECT_EQ(client_head(make_response(200), body_framing::none, 1000, true, true)
                  .value("Content-Length"),
              "1000");
    EXPECT_EQ(
        client_head(make_response(304), body_framing::none, 7, true, true).value("Content-Length"),
        "7");
}

TEST(ClientResponseHead, NoContentHasNoFraming) {
    auto res = make_response(204);
    res.insert(http::field::content_length, "0");
    const auto head = client_head(res, body_framing::none, 0, true, true);
    EXPECT_FALSE(head.has("Content-Length"));
    EXPECT_FALSE(head.has("Transfer-Encoding"));
}

}  // namespace
}  // namespace spillway::proxy
