// SIGHUP (DESIGN.md "Configuration"): the proxy re-reads its file; live keys serve new requests
// while the requests in flight finish under the configuration they started with, a file that
// does not validate changes nothing, and a key that needs a restart is warned about and kept.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_ca.hpp"
#include "support/tls_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>

namespace spillway::test {
namespace {

using json = nlohmann::json;

// Writes the proxy's file with `patch` merged over what it started with.
void rewrite_config(spillway_proxy& proxy, const json& patch) {
    auto next = proxy.config();
    next.merge_patch(patch);
    std::ofstream(proxy.config_path(), std::ios::trunc) << next.dump(2);
}

// SIGHUP, then waits for the reload to be counted with `result` (the n-th such).
bool reload(spillway_proxy& proxy, const std::string& result, double nth = 1) {
    proxy.proc().signal(SIGHUP);
    return proxy.wait_for_metric("spillway_config_reloads_total", {{"result", result}}, nth);
}

TEST(ProxyReload, SwitchesTheBackendWhileASlowRequestFinishesOnTheOldOne) {
    fake_backend old_backend;
    fake_backend new_backend;
    old_backend.on("/slow", {.body = "old and slow", .delay = 1500ms});
    spillway_proxy proxy(old_backend.url());

    // A kept-alive connection that the old backend answered first.
    http_client kept(proxy.port());
    auto before = kept.request(make_request("GET", "/before"));
    ASSERT_EQ(before.body, "GET /before");

    auto slow = std::async(std::launch::async, [&] { return fetch(proxy.port(), "GET", "/slow"); });
    ASSERT_TRUE(old_backend.wait_for_requests(2));  // the slow one reached the old backend

    rewrite_config(proxy, {{"backend", {{"url", new_backend.url()}}}});
    ASSERT_TRUE(reload(proxy, "ok")) << proxy.proc().stderr_text();

    auto fresh = fetch(proxy.port(), "GET", "/fresh");
    EXPECT_EQ(fresh.status, 200u);
    EXPECT_EQ(fresh.body, "GET /fresh");
    auto again = kept.request(make_request("GET", "/after"));  // the same connection, not dropped
    ASSERT_FALSE(again.error) << again.error.message();
    EXPECT_EQ(again.body, "GET /after");

    const auto answered = slow.get();
    ASSERT_FALSE(answered.error) << answered.error.message();
    EXPECT_EQ(answered.status, 200u);
    EXPECT_EQ(answered.body, "old and slow");

    EXPECT_EQ(old_backend.request_count(), 2u);  // /before and /slow
    ASSERT_EQ(new_backend.request_count(), 2u);  // /fresh and /after
    EXPECT_EQ(new_backend.requests()[0].target, "/fresh");
    EXPECT_EQ(proxy.metric("spillway_config_reloads_total", {{"result", "error"}}), 0.0);
}

TEST(ProxyReload, AFileThatDoesNotValidateChangesNothing) {
    fake_backend backend;
    fake_backend other;
    spillway_proxy proxy(backend.url());
    rewrite_config(proxy, {{"backend", {{"url", other.url()}, {"response_timeout_ms", "soon"}}}});
    ASSERT_TRUE(reload(proxy, "error")) << proxy.proc().stderr_text();
    EXPECT_TRUE(proxy.proc().wait_for_output("backend.response_timeout_ms", 5s))
        << proxy.proc().stderr_text();

    auto res = fetch(proxy.port(), "GET", "/still");
    EXPECT_EQ(res.body, "GET /still");
    EXPECT_EQ(backend.request_count(), 1u);
    EXPECT_EQ(other.request_count(), 0u);
    EXPECT_EQ(proxy.metric("spillway_config_reloads_total", {{"result", "ok"}}), 0.0);
    EXPECT_TRUE(proxy.proc().running());
}

TEST(ProxyReload, AKeyThatNeedsARestartIsWarnedAboutAndKept) {
    fake_backend backend;
    spillway_proxy proxy(backend.url());
    const auto other_port = free_port();
    rewrite_config(proxy, {{"listen", "127.0.0.1:" + std::to_string(other_port)},
                           {"kafka", {{"topic", "elsewhere"}}},
                           {"capture", {{"retry_after_s", 7}}}});
    ASSERT_TRUE(reload(proxy, "ok")) << proxy.proc().stderr_text();
    EXPECT_TRUE(
        proxy.proc().wait_for_output("listen, kafka.topic changed but need(s) a restart", 5s))
        << proxy.proc().stderr_text();

    EXPECT_EQ(fetch(proxy.port(), "GET", "/same").body, "GET /same");  // the old address serves
    EXPECT_FALSE(port_accepts("127.0.0.1", other_port));
}

TEST(ProxyReload, LimitsAndCaptureSettingsTakeEffect) {
    spillway_proxy proxy(dead_backend_url(), {{"capture", {{"max_body_bytes", 1 << 20}}}});
    const std::string body(2000, 'x');
    auto big = fetch(proxy.port(), "POST", "/b", {}, body);
    EXPECT_EQ(big.status, 503u);  // captured (to the spool): the body was within the limit
    EXPECT_EQ(big.header("Retry-After"), "30");

    rewrite_config(proxy, {{"capture", {{"max_body_bytes", 1024}, {"retry_after_s", 7}}}});
    ASSERT_TRUE(reload(proxy, "ok")) << proxy.proc().stderr_text();

    auto refused = fetch(proxy.port(), "POST", "/b", {}, body);
    EXPECT_EQ(refused.status, 413u);
    auto small = fetch(proxy.port(), "POST", "/b", {}, "tiny");
    EXPECT_EQ(small.status, 503u);
    EXPECT_EQ(small.header("Retry-After"), "7");
}

TEST(ProxyReload, AnOpenCircuitStaysOpenUnlessTheBreakerSettingsChange) {
    const auto dead = dead_backend_url();
    const std::string endpoint = dead.substr(std::string("http://").size());
    spillway_proxy proxy(
        dead,
        {{"circuit_breaker", {{"enabled", true}, {"failure_threshold", 1}, {"open_ms", 60000}}}});
    EXPECT_EQ(fetch(proxy.port(), "GET", "/a").status, 503u);  // captured: the circuit opens
    ASSERT_TRUE(proxy.wait_for_metric("spillway_circuit_state", {{"endpoint", endpoint}}, 1));

    rewrite_config(proxy, {{"capture", {{"retry_after_s", 9}}}});
    ASSERT_TRUE(reload(proxy, "ok"));
    EXPECT_EQ(proxy.metric("spillway_circuit_state", {{"endpoint", endpoint}}), 1.0);

    rewrite_config(
        proxy, {{"capture", {{"retry_after_s", 9}}}, {"circuit_breaker", {{"open_ms", 30000}}}});
    ASSERT_TRUE(reload(proxy, "ok", 2));
    EXPECT_EQ(proxy.metric("spillway_circuit_state", {{"endpoint", endpoint}}), 0.0);
    EXPECT_EQ(proxy.metric("spillway_circuit_transitions_total",
                           {{"endpoint", endpoint}, {"to", "open"}}),
              1.0);  // counters go on
}

TEST(ProxyReload, AnUnchangedFileReloadsAndChangesNothing) {
    fake_backend backend;
    spillway_proxy proxy(backend.url());
    ASSERT_TRUE(reload(proxy, "ok"));
    ASSERT_TRUE(reload(proxy, "ok", 2));
    EXPECT_EQ(fetch(proxy.port(), "GET", "/x").body, "GET /x");
}

// A certificate renewed in place (same paths, as certbot and cert-manager do): SIGHUP serves it
// to new connections, a connection open across the reload goes on with the old one, and files
// that do not load change nothing.
TEST(ProxyReload, ARenewedCertificateIsServedToNewConnections) {
    namespace fs = std::filesystem;
    test_ca ca;
    temp_dir dir("spillway-tls-renew");
    const auto cert_file = dir / "cert.pem";
    const auto key_file = dir / "key.pem";
    const auto install = [&](const issued_certificate& cert) {
        fs::copy_file(cert.cert_file, cert_file, fs::copy_options::overwrite_existing);
        fs::copy_file(cert.key_file, key_file, fs::copy_options::overwrite_existing);
    };
    install(ca.issue("old", "old.test"));
    fake_backend backend;
    spillway_proxy proxy(
        backend.url(),
        {{"tls", {{"cert_file", cert_file.string()}, {"key_file", key_file.string()}}}});
    tls_client before(proxy.port(), {});  // unverified: the certificates differ in their names
    ASSERT_FALSE(before.error()) << before.error().message();
    EXPECT_EQ(before.peer_common_name(), "old.test");

    install(ca.issue("new", "new.test"));
    ASSERT_TRUE(reload(proxy, "ok")) << proxy.proc().stderr_text();
    tls_client after(proxy.port(), {});
    ASSERT_FALSE(after.error()) << after.error().message();
    EXPECT_EQ(after.peer_common_name(), "new.test");
    EXPECT_EQ(after.request(make_request("GET", "/after")).status, 200u);
    EXPECT_EQ(before.request(make_request("GET", "/before")).status, 200u)
        << "a connection open across the reload is not dropped";

    const auto stranger = ca.issue("stranger", "stranger.test");
    fs::copy_file(stranger.key_file, key_file, fs::copy_options::overwrite_existing);
    ASSERT_TRUE(reload(proxy, "error")) << proxy.proc().stderr_text();
    EXPECT_NE(proxy.proc().stderr_text().find("tls.key_file"), std::string::npos)
        << proxy.proc().stderr_text();
    tls_client later(proxy.port(), {});
    ASSERT_FALSE(later.error()) << later.error().message();
    EXPECT_EQ(later.peer_common_name(), "new.test") << "a key that does not match changed nothing";
}

}  // namespace
}  // namespace spillway::test
