// HTTPS backends (backend.url https://, backend.tls): a verified backend gets the requests byte
// for byte over one pooled TLS connection; a certificate the proxy cannot trust (another CA, the
// wrong name) or a backend that does not speak TLS is a connect_error captured with
// sent_upstream false, and nothing reaches the backend; verify false reaches an untrusted one
// with a warning; a CA file that does not load stops the proxy with exit 2 naming the key.

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_ca.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::test {
namespace {

// Polls `condition` (the backend's counters change on its own thread) for up to 5 s.
template <class Condition>
bool wait_until(Condition condition) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

nlohmann::json backend_tls(nlohmann::json tls) {
    return {{"backend", {{"tls", std::move(tls)}}}};
}

class HttpsBackend : public ::testing::Test {
protected:
    test_ca ca_;
    issued_certificate cert_ = ca_.issue("backend");  // localhost and 127.0.0.1
    fake_backend backend_{tls_identity{cert_.cert_file, cert_.key_file}};

    nlohmann::json trusted() const { return backend_tls({{"ca_file", ca_.ca_file().string()}}); }

    // A request through a proxy with `settings` that the backend must never see: captured as
    // connect_error with sent_upstream false, the handshake counted as failed on both sides.
    void expect_refused_handshake(const nlohmann::json& settings, std::string_view detail) {
        devbroker broker;
        proxy_options o;
        o.backend_url = backend_.url();
        o.brokers = broker.bootstrap();
        o.settings = settings;
        spillway_proxy proxy(o);
        http_client client(proxy.port());
        const auto id = expect_captured(client.request(make_request("POST", "/orders", {}, "{}")));
        ASSERT_FALSE(id.empty());
        const auto records = read_records(broker.bootstrap(), 1);
        ASSERT_EQ(records.size(), 1u);
        ASSERT_TRUE(records[0].envelope) << records[0].parse_error;
        const auto& failure = records[0].envelope->failure;
        EXPECT_EQ(failure.kind, core::failure_kind::connect_error);
        EXPECT_FALSE(failure.sent_upstream);
        EXPECT_NE(failure.detail.find(detail), std::string::npos) << failure.detail;
        EXPECT_EQ(backend_.request_count(), 0u) << "nothing reached the backend";
        EXPECT_TRUE(wait_until([this] { return backend_.tls_handshake_failures() >= 1; }));
        EXPECT_EQ(backend_.tls_handshakes(), 0u);
        const auto name = "127.0.0.1:" + std::to_string(backend_.port());
        EXPECT_GE(proxy.metric("spillway_upstream_tls_handshake_errors_total", {{"endpoint", name}})
                      .value_or(0),
                  1.0);
        EXPECT_TRUE(proxy.proc().wait_for_output("TLS handshake failed"));
    }
};

TEST_F(HttpsBackend, VerifiedGetAndPostAreByteExactOverOnePooledConnection) {
    backend_.on("/echo", route{.status = 201, .echo = true});
    spillway_proxy proxy(backend_.url(), trusted());
    http_client client(proxy.port());

    const auto get = client.request(make_request("GET", "/items?a=1&b=%20"));
    ASSERT_FALSE(get.error) << get.error.message();
    EXPECT_EQ(get.status, 200u);
    EXPECT_EQ(get.body, "GET /items?a=1&b=%20");

    std::string body = "{\"k\":\"v\"}";
    body += std::string(1, '\0') + "\xff\xfe tail" + std::string(40000, 'x');
    const auto post = client.request(make_request("POST", "/echo", {{"X-A", "1"}}, body));
    ASSERT_FALSE(post.error) << post.error.message();
    EXPECT_EQ(post.status, 201u);
    EXPECT_EQ(post.body, body);

    ASSERT_EQ(backend_.request_count(), 2u);
    const auto requests = backend_.requests();
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].target, "/items?a=1&b=%20");
    EXPECT_EQ(requests[1].body, body);
    EXPECT_EQ(requests[1].header("X-A"), "1");
    EXPECT_EQ(requests[0].connection, requests[1].connection) << "the TLS connection was reused";
    EXPECT_EQ(backend_.accepted_connections(), 1u);
    EXPECT_EQ(backend_.tls_handshakes(), 1u);
    EXPECT_EQ(backend_.tls_handshake_failures(), 0u);
}

TEST_F(HttpsBackend, ANewConnectionResumesTheSessionOfTheLast) {
    backend_.on("/bye", route{.close_after = true});
    spillway_proxy proxy(backend_.url(), trusted());
    http_client client(proxy.port());
    EXPECT_EQ(client.request(make_request("GET", "/bye")).status, 200u);
    EXPECT_EQ(client.request(make_request("GET", "/again")).status, 200u);
    ASSERT_EQ(backend_.request_count(), 2u);
    EXPECT_EQ(backend_.accepted_connections(), 2u) << "the backend closed the first connection";
    EXPECT_EQ(backend_.tls_handshakes(), 2u);
    EXPECT_EQ(backend_.tls_resumed_handshakes(), 1u) << "the second handshake was a resumption";
}

TEST_F(HttpsBackend, ACertificateFromAnotherCaIsAConnectErrorAndNothingIsSent) {
    test_ca other("Some Other CA");
    expect_refused_handshake(backend_tls({{"ca_file", other.ca_file().string()}}),
                             "certificate rejected");
}

TEST_F(HttpsBackend, ACertificateForAnotherNameIsAConnectErrorAndNothingIsSent) {
    expect_refused_handshake(
        backend_tls({{"ca_file", ca_.ca_file().string()}, {"server_name", "api.example"}}),
        "certificate rejected");
}

TEST_F(HttpsBackend, TheSystemsCasDoNotTrustAPrivateCa) {
    expect_refused_handshake({}, "certificate rejected");
}

TEST_F(HttpsBackend, ServerNameIsTheNameCheckedAndTheSni) {
    // The certificate names localhost (and 127.0.0.1); the URL says 127.0.0.1.
    spillway_proxy proxy(backend_.url(), backend_tls({{"ca_file", ca_.ca_file().string()},
                                                      {"server_name", "localhost"}}));
    EXPECT_EQ(fetch(proxy.port(), "GET", "/named").status, 200u);
    EXPECT_EQ(backend_.request_count(), 1u);
}

TEST_F(HttpsBackend, VerifyFalseReachesAnUntrustedBackendWithAWarning) {
    spillway_proxy proxy(backend_.url(), backend_tls({{"verify", false}}));
    EXPECT_TRUE(proxy.proc().wait_for_output("backend.tls.verify is false"));
    EXPECT_EQ(fetch(proxy.port(), "GET", "/unverified").status, 200u);
    ASSERT_EQ(backend_.request_count(), 1u);
    EXPECT_EQ(backend_.requests()[0].target, "/unverified");
}

TEST(HttpsBackendPlain, AnHttpsUrlToAPlainBackendIsAConnectErrorAndNothingIsRead) {
    fake_backend plain;
    devbroker broker;
    proxy_options o;
    o.backend_url = "https://127.0.0.1:" + std::to_string(plain.port());
    o.brokers = broker.bootstrap();
    o.settings = backend_tls({{"verify", false}});
    spillway_proxy proxy(o);
    http_client client(proxy.port());
    ASSERT_FALSE(expect_captured(client.request(make_request("GET", "/x"))).empty());
    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    ASSERT_TRUE(records[0].envelope) << records[0].parse_error;
    EXPECT_EQ(records[0].envelope->failure.kind, core::failure_kind::connect_error);
    EXPECT_FALSE(records[0].envelope->failure.sent_upstream);
    EXPECT_EQ(plain.request_count(), 0u) << "a ClientHello is no request";
}

// A backend that accepts (the kernel's backlog does) but never answers the ClientHello: the
// handshake is bounded by backend.connect_timeout_ms like the connect, and is a connect_error.
TEST(HttpsBackendSilent, AHandshakeThatNeverEndsTimesOutWithinTheConnectTimeout) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener, 8), 0);
    socklen_t length = sizeof address;
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    devbroker broker;
    proxy_options o;
    o.backend_url = "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
    o.brokers = broker.bootstrap();
    o.settings = {{"backend", {{"connect_timeout_ms", 300}}}};
    spillway_proxy proxy(o);
    http_client client(proxy.port());
    const auto started = std::chrono::steady_clock::now();
    ASSERT_FALSE(expect_captured(client.request(make_request("GET", "/slow"))).empty());
    const auto records = read_records(broker.bootstrap(), 1);
    ::close(listener);
    ASSERT_EQ(records.size(), 1u);
    ASSERT_TRUE(records[0].envelope) << records[0].parse_error;
    EXPECT_EQ(records[0].envelope->failure.kind, core::failure_kind::connect_error);
    EXPECT_FALSE(records[0].envelope->failure.sent_upstream);
    EXPECT_NE(records[0].envelope->failure.detail.find("timed out"), std::string::npos)
        << records[0].envelope->failure.detail;
    EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
    EXPECT_GE(proxy.metric("spillway_upstream_tls_handshake_errors_total").value_or(0), 1.0);
}

// backend.tls.ca_file that does not load: exit 2 naming the key, from the proxy and the replay.
TEST(HttpsBackendConfig, ABadCaFileNamesTheKeyAndExits2) {
    temp_dir dir("spillway-https-config");
    const auto garbage = dir / "garbage.pem";
    std::ofstream(garbage) << "not a certificate\n";
    for (const std::string ca_file : {std::string("/nonexistent/ca.pem"), garbage.string()}) {
        for (const std::string binary : {"spillway", "spillway-replay"}) {
            SCOPED_TRACE(binary + " " + ca_file);
            const auto path = dir / "bad.json";
            nlohmann::json doc = {
                {"backend", {{"url", "https://127.0.0.1:1"}, {"tls", {{"ca_file", ca_file}}}}},
                {"listen", "127.0.0.1:0"},
                {"admin", {{"listen", "off"}}},
                {"spool", {{"dir", (dir / "spool").string()}}},
                {"kafka", {{"brokers", "127.0.0.1:1"}}}};
            std::ofstream(path) << doc.dump();
            const auto result =
                run_command({.path = bin_path(binary), .args = {"--config", path.string()}}, 20s);
            EXPECT_EQ(result.exit_status, 2) << result.err << result.out;
            EXPECT_NE((result.err + result.out).find("backend.tls.ca_file"), std::string::npos)
                << result.err << result.out;
        }
    }
}

}  // namespace
}  // namespace spillway::test
