// Upgrade requests (WebSocket) through the real proxy: forwarded with their Upgrade headers, and
// after the backend's 101 the bytes are tunneled both ways, byte for byte, until a side closes or
// the tunnel is idle; a backend that cannot be reached gets the client a 502, and nothing of an
// upgrade is ever captured.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_ca.hpp"
#include "support/tls_client.hpp"
#include "support/upgrade_backend.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace spillway::test {
namespace {

const header_list websocket_headers = {{"Connection", "Upgrade"},
                                       {"Upgrade", "websocket"},
                                       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                       {"Sec-WebSocket-Version", "13"}};

std::string websocket_handshake() {
    return make_request("GET", "/chat", websocket_headers);
}

constexpr std::string_view greeting = "server-hello";  // upgrade_backend's default, after its 101
constexpr std::string_view early_frame = "early-frame|";

// Sends the handshake with a first frame right behind it, before the 101 (it must not be lost),
// reads the answer up to the backend's greeting into `head`, then the early frame's echo, which
// may have come in the same read as the greeting. Plain or TLS client.
template <class Client>
void open_tunnel(Client& client, std::string& head) {
    ASSERT_FALSE(client.send(websocket_handshake() + std::string(early_frame)));
    ASSERT_TRUE(client.read_until(greeting, head)) << head;
    EXPECT_EQ(head.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << head;
    const auto greeting_end = head.find(greeting) + greeting.size();
    std::string after = head.substr(greeting_end);
    head.resize(greeting_end);
    ASSERT_TRUE(client.read_until(early_frame, after)) << after;
}

// `count` messages of 64 KiB filled with `fill`, 'fill' + 1, ..., each echoed whole before the
// next is sent; their bytes are added to `sent`.
template <class Client>
void echo_messages(Client& client, int count, char fill, std::size_t& sent) {
    for (int i = 0; i < count; ++i) {
        std::string message(64 * 1024 - 16, static_cast<char>(fill + i));
        message += "#end-" + std::to_string(i) + "#";
        ASSERT_FALSE(client.send(message));
        sent += message.size();
        std::string received;
        ASSERT_TRUE(client.read_until("#end-" + std::to_string(i) + "#", received)) << i;
        ASSERT_EQ(received, message) << "message " << i << " came back changed";
    }
}

// Everything counted of upgrades and captures, read once the tunnel count is back to `open`.
void expect_counts(const spillway_proxy& proxy, double tunneled, double declined, double failed) {
    EXPECT_EQ(proxy.metric("spillway_upgrades_total", {{"result", "tunneled"}}), tunneled);
    EXPECT_EQ(proxy.metric("spillway_upgrades_total", {{"result", "declined"}}), declined);
    EXPECT_EQ(proxy.metric("spillway_upgrades_total", {{"result", "failed"}}), failed);
    EXPECT_EQ(proxy.metric("spillway_requests_total", {{"outcome", "captured"}}), 0.0)
        << "an upgrade is never captured";
}

TEST(ProxyUpgrade, WebSocketHandshakeIsTunneledBothWaysByteForByte) {
    upgrade_backend backend;
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port(), 10s);
    std::string head;
    ASSERT_NO_FATAL_FAILURE(open_tunnel(client, head));
    EXPECT_NE(head.find("\r\nUpgrade: websocket\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\nConnection: Upgrade\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
              std::string::npos)
        << head;

    // 1 MiB each way, in 64 KiB messages, each echoed whole before the next.
    std::size_t sent = early_frame.size();
    ASSERT_NO_FATAL_FAILURE(echo_messages(client, 16, 'a', sent));
    EXPECT_TRUE(proxy.wait_for_metric("spillway_tunnels_open", {}, 1.0));

    const auto heads = backend.heads();
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_EQ(heads[0].rfind("GET /chat HTTP/1.1\r\n", 0), 0u) << heads[0];
    for (const char* line : {"\r\nConnection: Upgrade\r\n", "\r\nUpgrade: websocket\r\n",
                             "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                             "\r\nSec-WebSocket-Version: 13\r\n", "\r\nX-Forwarded-For: "}) {
        EXPECT_NE(heads[0].find(line), std::string::npos) << line << " missing in " << heads[0];
    }

    // The client closes: the backend reads its end of stream, the tunnel is gone.
    client.close();
    ASSERT_TRUE(backend.wait_for_closed(1));
    EXPECT_EQ(backend.echoed(), sent);
    EXPECT_TRUE(proxy.wait_for_metric("spillway_tunnels_open", {}, 0.0));
    expect_counts(proxy, 1, 0, 0);
    EXPECT_GE(proxy.metric("spillway_tunnel_bytes_total", {{"direction", "to_backend"}}),
              static_cast<double>(sent));
    EXPECT_GE(proxy.metric("spillway_tunnel_bytes_total", {{"direction", "to_client"}}),
              static_cast<double>(sent + greeting.size()));
}

// wss:// : the same tunnel behind the TLS listener, the client's bytes decrypted to the backend
// and the backend's encrypted to the client; the client's close_notify ends it like a close.
TEST(ProxyUpgrade, WebSocketOverTheTlsListenerIsTunneledBothWays) {
    test_ca ca;
    const auto cert = ca.issue("server");
    upgrade_backend backend;
    spillway_proxy proxy(
        backend.url(),
        {{"tls", {{"cert_file", cert.cert_file.string()}, {"key_file", cert.key_file.string()}}}});
    tls_client client(proxy.port(), {.ca_file = ca.ca_file()}, 10s);
    ASSERT_FALSE(client.error()) << client.error().message();
    std::string head;
    ASSERT_NO_FATAL_FAILURE(open_tunnel(client, head));
    std::size_t sent = early_frame.size();
    ASSERT_NO_FATAL_FAILURE(echo_messages(client, 4, 'k', sent));
    const auto heads = backend.heads();
    ASSERT_EQ(heads.size(), 1u);
    EXPECT_NE(heads[0].find("\r\nX-Forwarded-Proto: https\r\n"), std::string::npos) << heads[0];

    EXPECT_FALSE(client.shutdown()) << "the proxy answers close_notify with its own";
    ASSERT_TRUE(backend.wait_for_closed(1));
    EXPECT_EQ(backend.echoed(), sent);
    EXPECT_TRUE(proxy.wait_for_metric("spillway_tunnels_open", {}, 0.0));
    expect_counts(proxy, 1, 0, 0);
}

TEST(ProxyUpgrade, BackendClosingEndsTheTunnelAndTheClientConnection) {
    upgrade_backend backend({.greeting = "last-words", .echo = false});
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port(), 10s);
    ASSERT_FALSE(client.send(websocket_handshake()));
    std::string received;
    // Every byte the backend sent before it closed reaches the client, then the end of stream.
    ASSERT_TRUE(client.wait_closed(5s, &received));
    EXPECT_EQ(received.substr(received.size() - 10), "last-words") << received;
    EXPECT_TRUE(proxy.wait_for_metric("spillway_tunnels_open", {}, 0.0));
    expect_counts(proxy, 1, 0, 0);
}

TEST(ProxyUpgrade, IdleTunnelIsClosedAfterTheIdleTimeout) {
    upgrade_backend backend;
    spillway_proxy proxy(backend.url(), {{"limits", {{"idle_timeout_ms", 300}}}});
    http_client client(proxy.port(), 10s);
    ASSERT_FALSE(client.send(websocket_handshake()));
    std::string received;
    ASSERT_TRUE(client.read_until(greeting, received));
    // Traffic keeps it open past the timeout...
    for (int i = 0; i < 4; ++i) {
        const std::string ping = "ping-" + std::to_string(i);
        ASSERT_FALSE(client.send(ping));
        received.clear();
        ASSERT_TRUE(client.read_until(ping, received, 2s)) << i;
        std::this_thread::sleep_for(150ms);  // under the idle timeout, on purpose
    }
    // ... silence closes it: both sides see their connection end.
    EXPECT_TRUE(client.wait_closed(5s));
    EXPECT_TRUE(backend.wait_for_closed(1));
    EXPECT_TRUE(proxy.wait_for_metric("spillway_tunnels_open", {}, 0.0));
    expect_counts(proxy, 1, 0, 0);
}

TEST(ProxyUpgrade, SigtermCutsAnOpenTunnelAtTheShutdownTimeoutAndExitsZero) {
    upgrade_backend backend;
    spillway_proxy proxy(backend.url(), {{"shutdown_timeout_ms", 500}});
    http_client client(proxy.port(), 10s);
    ASSERT_FALSE(client.send(websocket_handshake()));
    std::string received;
    ASSERT_TRUE(client.read_until(greeting, received));
    // A tunnel is a request in flight: it goes on until the shutdown timeout, then is cut, and
    // the proxy still exits 0.
    EXPECT_EQ(proxy.terminate(10s), std::optional<int>(0));
    EXPECT_TRUE(client.wait_closed(5s));
    EXPECT_TRUE(backend.wait_for_closed(1));
}

TEST(ProxyUpgrade, UnreachableBackendAnswers502AndCapturesNothing) {
    spillway_proxy proxy(dead_backend_url());
    http_client client(proxy.port(), 10s);
    const auto res = client.request(websocket_handshake());
    EXPECT_EQ(res.status, 502u) << res.body;
    EXPECT_EQ(res.body, R"({"error":"upgrade_failed"})");
    EXPECT_TRUE(client.wait_closed(5s));
    expect_counts(proxy, 0, 0, 1);
    EXPECT_NE(proxy.proc().stderr_text().find("upgrade to websocket failed, answered 502: "
                                              "connect_error"),
              std::string::npos)
        << proxy.proc().stderr_text();
}

TEST(ProxyUpgrade, BackendDecliningWithItsOwn503IsRelayedNotQueued) {
    upgrade_backend backend(
        {.head = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\n",
         .greeting = "busy",
         .echo = false});
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port(), 10s);
    const auto res = client.request(websocket_handshake());
    EXPECT_EQ(res.status, 503u);
    EXPECT_EQ(res.body, "busy") << "the backend's own answer, not the proxy's queued answer";
    expect_counts(proxy, 0, 1, 0);
}

TEST(ProxyUpgrade, A101WithoutUpgradeHeaderIsA502) {
    upgrade_backend backend(
        {.head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
         .greeting = "",
         .echo = false});
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port(), 10s);
    const auto res = client.request(websocket_handshake());
    EXPECT_EQ(res.status, 502u) << res.body;
    expect_counts(proxy, 0, 0, 1);
}

TEST(ProxyUpgrade, PlainRequestsStillDropUpgradeAsHopByHop) {
    fake_backend backend;
    spillway_proxy proxy(backend.url());
    const auto res = fetch(proxy.port(), "GET", "/plain", {{"Upgrade", "websocket"}});
    EXPECT_EQ(res.status, 200u);
    ASSERT_EQ(backend.requests().size(), 1u);
    EXPECT_FALSE(backend.requests()[0].header("Upgrade").has_value());
    expect_counts(proxy, 0, 0, 0);
}

}  // namespace
}  // namespace spillway::test
