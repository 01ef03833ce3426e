// The TLS listener (tls.*): HTTPS clients are proxied to a plain backend byte for byte with
// X-Forwarded-Proto https, a capture says scheme "https", a plain HTTP request on the TLS port
// and a TLS version below tls.min_version are refused and counted, a TLS 1.2 renegotiation is
// refused, and a bad certificate or key is a configuration error naming the key (exit 2).

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_ca.hpp"
#include "support/tls_client.hpp"

#include <boost/beast/core/error.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <fstream>

namespace spillway::test {
namespace {

nlohmann::json tls_settings(const issued_certificate& cert, const std::string& min = "1.2") {
    return {{"tls",
             {{"cert_file", cert.cert_file.string()},
              {"key_file", cert.key_file.string()},
              {"min_version", min}}}};
}

class TlsListener : public ::testing::Test {
protected:
    test_ca ca_;
    issued_certificate cert_ = ca_.issue("server");
    fake_backend backend_;

    tls_client_options verified() const { return {.ca_file = ca_.ca_file()}; }
};

TEST_F(TlsListener, HttpsGetAndPostReachAPlainBackendByteForByte) {
    backend_.on("/echo", route{.status = 201, .echo = true});
    spillway_proxy proxy(backend_.url(), tls_settings(cert_));
    tls_client client(proxy.port(), verified());
    ASSERT_FALSE(client.error()) << client.error().message();
    EXPECT_EQ(client.peer_common_name(), "localhost");
    EXPECT_EQ(client.alpn_selected(), "http/1.1");

    auto get = client.request(make_request("GET", "/items?a=1"));
    ASSERT_FALSE(get.error) << get.error.message();
    EXPECT_EQ(get.status, 200u);
    EXPECT_EQ(get.body, "GET /items?a=1");

    std::string body = "{\"k\":\"v\"}";
    body += std::string(1, '\0') + "\xff\xfe tail";
    auto post = client.request(make_request("POST", "/echo", {{"X-A", "1"}}, body));
    ASSERT_FALSE(post.error) << post.error.message();
    EXPECT_EQ(post.status, 201u);
    EXPECT_EQ(post.body, body);

    ASSERT_EQ(backend_.request_count(), 2u);
    const auto requests = backend_.requests();
    EXPECT_EQ(requests[0].target, "/items?a=1");
    EXPECT_EQ(requests[1].body, body);
    EXPECT_EQ(requests[1].header("X-A"), "1");
    EXPECT_EQ(requests[1].connection, requests[0].connection) << "kept alive over TLS";
    for (const auto& r : requests) {
        EXPECT_EQ(r.header("X-Forwarded-Proto"), "https") << r.raw;
    }
    EXPECT_EQ(proxy.metric("spillway_tls_handshakes_total"), 1.0);
}

TEST_F(TlsListener, ACaptureOnTheTlsListenerSaysSchemeHttps) {
    devbroker broker;
    proxy_options o;
    o.backend_url = dead_backend_url();
    o.brokers = broker.bootstrap();
    o.settings = tls_settings(cert_);
    spillway_proxy proxy(o);
    tls_client client(proxy.port(), verified());
    ASSERT_FALSE(client.error()) << client.error().message();
    const auto id = expect_captured(client.request(make_request("POST", "/orders", {}, "{}")));
    ASSERT_FALSE(id.empty());
    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    ASSERT_TRUE(records[0].envelope) << records[0].parse_error;
    EXPECT_EQ(records[0].envelope->scheme, "https");
    EXPECT_EQ(records[0].envelope->failure.kind, core::failure_kind::connect_error);
}

TEST_F(TlsListener, APlainHttpRequestOnTheTlsPortIsClosed) {
    spillway_proxy proxy(backend_.url(), tls_settings(cert_));
    http_client plain(proxy.port());
    ASSERT_FALSE(plain.connect_error());
    ASSERT_FALSE(plain.send(make_request("GET", "/")));
    std::string received;
    EXPECT_TRUE(plain.wait_closed(5s, &received));
    EXPECT_EQ(received.find("HTTP/1."), std::string::npos) << "nothing is answered in clear";
    EXPECT_TRUE(proxy.wait_for_metric("spillway_tls_handshake_errors_total",
                                      {{"reason", "plain_http"}}, 1.0));
    EXPECT_EQ(backend_.request_count(), 0u);
}

TEST_F(TlsListener, Tls11IsRefused) {
    spillway_proxy proxy(backend_.url(), tls_settings(cert_));
    tls_client old(proxy.port(), {.min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION});
    EXPECT_TRUE(old.error()) << "a TLS 1.1 handshake succeeded";
    EXPECT_TRUE(proxy.wait_for_metric("spillway_tls_handshake_errors_total",
                                      {{"reason", "protocol_version"}}, 1.0));
    tls_client current(proxy.port(), verified());
    EXPECT_FALSE(current.error()) << current.error().message();
}

TEST_F(TlsListener, MinVersion13RefusesTls12) {
    spillway_proxy proxy(backend_.url(), tls_settings(cert_, "1.3"));
    tls_client tls12(proxy.port(), {.ca_file = ca_.ca_file(), .max_version = TLS1_2_VERSION});
    EXPECT_TRUE(tls12.error()) << "TLS 1.2 accepted with tls.min_version 1.3";
    EXPECT_TRUE(proxy.wait_for_metric("spillway_tls_handshake_errors_total",
                                      {{"reason", "protocol_version"}}, 1.0));
    tls_client tls13(proxy.port(), verified());
    ASSERT_FALSE(tls13.error()) << tls13.error().message();
    EXPECT_EQ(tls13.version(), "TLSv1.3");
}

TEST_F(TlsListener, ATls12ClientCannotRenegotiate) {
    spillway_proxy proxy(backend_.url(), tls_settings(cert_));
    tls_client client(proxy.port(), {.ca_file = ca_.ca_file(), .max_version = TLS1_2_VERSION});
    ASSERT_FALSE(client.error()) << client.error().message();
    // Each renegotiation would be a full handshake's CPU spent inside a read, never counted.
    const auto ec = client.renegotiate();
    EXPECT_TRUE(ec) << "the proxy took a renegotiation";
    EXPECT_NE(ec, boost::beast::error::timeout) << "refused with an alert, not left unanswered";
    tls_client next(proxy.port(), verified());
    ASSERT_FALSE(next.error()) << next.error().message();
    EXPECT_EQ(next.request(make_request("GET", "/after")).status, 200u);
}

TEST_F(TlsListener, AnRsaCertificateIsServedToo) {
    const auto rsa = ca_.issue("rsa", "localhost", true);
    spillway_proxy proxy(backend_.url(), tls_settings(rsa));
    tls_client client(proxy.port(), verified());
    ASSERT_FALSE(client.error()) << client.error().message();
    EXPECT_EQ(client.request(make_request("GET", "/")).status, 200u);
}

TEST_F(TlsListener, AClientThatNeverHandshakesIsCutOffAtTheHeaderTimeout) {
    nlohmann::json settings = tls_settings(cert_);
    settings["limits"] = {{"header_timeout_ms", 300}};
    spillway_proxy proxy(backend_.url(), settings);
    http_client silent(proxy.port());
    ASSERT_FALSE(silent.connect_error());
    EXPECT_TRUE(silent.wait_closed(5s));
    EXPECT_TRUE(
        proxy.wait_for_metric("spillway_tls_handshake_errors_total", {{"reason", "timeout"}}, 1.0));
    tls_client client(proxy.port(), verified());
    EXPECT_FALSE(client.error()) << "the worker was not stalled: " << client.error().message();
}

// SIGTERM wakes a TLS session that waits for its next request (and one still in its handshake)
// like a plain one: the proxy exits at once, not after shutdown_timeout_ms.
TEST_F(TlsListener, IdleTlsSessionsDoNotHoldUpShutdown) {
    nlohmann::json settings = tls_settings(cert_);
    settings["shutdown_timeout_ms"] = 20000;
    spillway_proxy proxy(backend_.url(), settings);
    tls_client idle(proxy.port(), verified());
    ASSERT_FALSE(idle.error()) << idle.error().message();
    ASSERT_EQ(idle.request(make_request("GET", "/")).status, 200u);
    http_client handshaking(proxy.port());  // connected, never says hello
    ASSERT_FALSE(handshaking.connect_error());
    ASSERT_TRUE(proxy.wait_for_metric("spillway_open_connections", {}, 2.0));
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(proxy.terminate(10s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s)
        << "an idle TLS session held the shutdown up";
    EXPECT_TRUE(handshaking.wait_closed(1s));
}

// The configuration errors: the proxy exits 2 and names the key.
class TlsConfigErrors : public ::testing::Test {
protected:
    test_ca ca_;
    temp_dir dir_{"spillway-tls-config"};

    command_result check(const nlohmann::json& tls) {
        const auto path = dir_ / "bad.json";
        nlohmann::json doc = {{"tls", tls},
                              {"listen", "127.0.0.1:0"},
                              {"admin", {{"listen", "off"}}},
                              {"spool", {{"dir", (dir_ / "spool").string()}}},
                              {"kafka", {{"brokers", "127.0.0.1:1"}}}};
        std::ofstream(path) << doc.dump();
        return run_command({.path = bin_path("spillway"), .args = {"--config", path.string()}},
                           20s);
    }
};

TEST_F(TlsConfigErrors, EachBadFileNamesItsKeyAndExits2) {
    const auto a = ca_.issue("a");
    const auto b = ca_.issue("b");
    const auto garbage = dir_ / "garbage.pem";
    std::ofstream(garbage) << "not a certificate\n";
    struct bad_case {
        nlohmann::json tls;
        std::string key;
    };
    const std::vector<bad_case> cases{
        {{{"cert_file", "/nonexistent/c.pem"}, {"key_file", a.key_file.string()}}, "tls.cert_file"},
        {{{"cert_file", a.cert_file.string()}, {"key_file", "/nonexistent/k.pem"}}, "tls.key_file"},
        {{{"cert_file", garbage.string()}, {"key_file", a.key_file.string()}}, "tls.cert_file"},
        {{{"cert_file", a.cert_file.string()}, {"key_file", b.key_file.string()}}, "tls.key_file"},
        {{{"cert_file", a.cert_file.string()}}, "tls.key_file"},
        {{{"cert_file", a.cert_file.string()},
          {"key_file", a.key_file.string()},
          {"min_version", "1.1"}},
         "tls.min_version"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.tls.dump());
        const auto result = check(c.tls);
        EXPECT_EQ(result.exit_status, 2) << result.err << result.out;
        EXPECT_NE((result.err + result.out).find(c.key), std::string::npos)
            << result.err << result.out;
    }
}

}  // namespace
}  // namespace spillway::test
