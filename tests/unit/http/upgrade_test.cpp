// Which requests ask to switch protocols (RFC 9110 §7.8): the proxy tunnels those after a 101
// and forwards every other request with Upgrade dropped as hop-by-hop.

#include "spillway/http/upgrade.hpp"

#include <gtest/gtest.h>

namespace spillway::http_util {
namespace {

namespace http = boost::beast::http;

http::request_header<> request(unsigned version = 11) {
    http::request_header<> req;
    req.method(http::verb::get);
    req.target("/chat");
    req.version(version);
    req.set(http::field::host, "chat.test");
    return req;
}

TEST(RequestedUpgrade, WebSocketHandshakeAsksForWebsocket) {
    auto req = request();
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, "websocket");
    EXPECT_EQ(requested_upgrade(req), std::optional<std::string_view>("websocket"));
}

TEST(RequestedUpgrade, TheTokenIsFoundInAnyConnectionHeaderAnyCase) {
    auto req = request();
    req.insert(http::field::connection, "keep-alive");
    req.insert(http::field::connection, "X-Other, uPgRaDe");
    req.set(http::field::upgrade, "  websocket ");
    EXPECT_EQ(requested_upgrade(req), std::optional<std::string_view>("websocket"));
}

TEST(RequestedUpgrade, UpgradeThatConnectionDoesNotNameIsNoUpgrade) {
    auto req = request();
    req.set(http::field::upgrade, "websocket");
    EXPECT_EQ(requested_upgrade(req), std::nullopt);
    req.set(http::field::connection, "keep-alive, upgrade-insecure");  // a token, not a prefix
    EXPECT_EQ(requested_upgrade(req), std::nullopt);
}

TEST(RequestedUpgrade, ConnectionUpgradeWithoutAnUpgradeHeaderIsNoUpgrade) {
    auto req = request();
    req.set(http::field::connection, "upgrade");
    EXPECT_EQ(requested_upgrade(req), std::nullopt);
    req.set(http::field::upgrade, " ");
    EXPECT_EQ(requested_upgrade(req), std::nullopt);
}

TEST(RequestedUpgrade, TwoUpgradeHeadersAreNoUpgrade) {
    auto req = request();
    req.set(http::field::connection, "upgrade");
    req.insert(http::field::upgrade, "websocket");
    req.insert(http::field::upgrade, "h2c");
    EXPECT_EQ(requested_upgrade(req), std::nullopt);
}

TEST(RequestedUpgrade, Http10RequestsNeverUpgrade) {
    auto req = request(10);
    req.set(http::field::connection, "upgrade");
    req.set(http::field::upgrade, "websocket");
    EXPECT_EQ(requested_upgrade(req), std::nullopt);
}

}  // namespace
}  // namespace spillway::http_util
