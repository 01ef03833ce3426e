// The daemon around the proxy: its health endpoint, its command line (--check-config,
// --version, --help, configuration errors naming the key, exit status 2) and a graceful SIGTERM
// that lets an in-flight request finish.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>

namespace spillway::test {
namespace {

using json = nlohmann::json;

command_result run_spillway(std::vector<std::string> args) {
    return run_command({bin_path("spillway"), std::move(args), {}, "spillway"}, 10s);
}

std::string shipped_config() {
    return std::string(SPILLWAY_SOURCE_DIR) + "/config/spillway.json";
}

TEST(ProxyHealth, HealthAnswersOkWithoutTheBackend) {
    fake_backend backend;
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port());
    auto res = client.request(make_request("GET", "/health"));
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.header("Content-Type"), "application/json");
    ASSERT_TRUE(json::accept(res.body)) << res.body;
    EXPECT_EQ(json::parse(res.body), json({{"status", "ok"}}));
    EXPECT_TRUE(res.keep_alive);
    // The same connection then forwards as usual; the health check never reached the backend.
    auto next = client.request(make_request("GET", "/api"));
    EXPECT_EQ(next.body, "GET /api");
    ASSERT_EQ(backend.request_count(), 1u);
    EXPECT_EQ(backend.requests()[0].target, "/api");
}

TEST(ProxyHealth, HealthAnswersWhileTheBackendIsDown) {
    fake_backend backend;
    spillway_proxy proxy(backend.url());
    backend.stop();
    auto res = fetch(proxy.port(), "GET", "/health");
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"({"status":"ok"})");
}

TEST(ProxyHealth, HealthPathIsConfigurable) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), {{"health_path", "/_spillway/alive"}});
    auto own = fetch(proxy.port(), "GET", "/_spillway/alive");
    EXPECT_EQ(own.status, 200u);
    EXPECT_EQ(own.body, R"({"status":"ok"})");
    auto forwarded = fetch(proxy.port(), "GET", "/health");  // now the backend's path
    EXPECT_EQ(forwarded.body, "GET /health");
}

TEST(ProxyCommandLine, CheckConfigAcceptsTheShippedConfig) {
    auto r = run_spillway({"--config", shipped_config(), "--check-config"});
    EXPECT_EQ(r.exit_status, 0) << r.err;
}

TEST(ProxyCommandLine, CheckConfigRejectsAWrongTypeNamingTheKey) {
    temp_dir dir;
    std::ofstream(dir / "bad.json") << R"({"backend": {"response_timeout_ms": "soon"}})";
    auto r = run_spillway({"--config", (dir / "bad.json").string(), "--check-config"});
    EXPECT_EQ(r.exit_status, 2);
    EXPECT_NE(r.err.find("backend.response_timeout_ms"), std::string::npos) << r.err;
}

TEST(ProxyCommandLine, UnknownKeyExitsWith2NamingIt) {
    temp_dir dir;
    std::ofstream(dir / "bad.json") << R"({"limits": {"max_header_byte": 100}})";
    // Not only --check-config: starting with it fails the same way.
    auto check = run_spillway({"--config", (dir / "bad.json").string(), "--check-config"});
    EXPECT_EQ(check.exit_status, 2);
    EXPECT_NE(check.err.find("limits.max_header_byte"), std::string::npos) << check.err;
    auto start = run_spillway({"--config", (dir / "bad.json").string()});
    EXPECT_EQ(start.exit_status, 2);
    EXPECT_NE(start.err.find("limits.max_header_byte"), std::string::npos) << start.err;
}

TEST(ProxyCommandLine, InvalidJsonAndMissingFileExitWith2) {
    temp_dir dir;
    std::ofstream(dir / "broken.json") << R"({"listen": )";
    EXPECT_EQ(
        run_spillway({"--config", (dir / "broken.json").string(), "--check-config"}).exit_status,
        2);
    EXPECT_EQ(
        run_spillway({"--config", (dir / "absent.json").string(), "--check-config"}).exit_status,
        2);
}

TEST(ProxyCommandLine, VersionAndHelp) {
    auto version = run_spillway({"--version"});
    EXPECT_EQ(version.exit_status, 0);
    EXPECT_NE(version.out.find("spillway"), std::string::npos) << version.out;
    EXPECT_NE(version.out.find(SPILLWAY_VERSION), std::string::npos) << version.out;
    auto help = run_spillway({"--help"});
    EXPECT_EQ(help.exit_status, 0);
    for (const char* flag : {"--config", "--check-config", "--version", "--help"}) {
        EXPECT_NE(help.out.find(flag), std::string::npos) << flag << " missing from:\n" << help.out;
    }
    auto unknown = run_spillway({"--no-such-flag"});
    EXPECT_EQ(unknown.exit_status, 2);
}

TEST(ProxyShutdown, SigtermLetsTheInFlightRequestFinishThenExits0) {
    fake_backend backend;
    backend.on("/slow", route{.body = "finished", .delay = 1000ms});
    spillway_proxy proxy(backend.url());
    http_client client(proxy.port(), 10s);
    ASSERT_FALSE(client.send(make_request("GET", "/slow")));
    ASSERT_TRUE(backend.wait_for_requests(1, 5s));  // the request is in flight

    proxy.proc().signal(SIGTERM);
    // New connections are refused while the in-flight request is still running.
    EXPECT_TRUE(wait_until([&] { return !port_accepts("127.0.0.1", proxy.port()); }, 900ms))
        << "still accepting after SIGTERM";
    auto res = client.read_response();
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, "finished");
    EXPECT_TRUE(client.wait_closed(3s));  // shutting down: no next request on this connection

    const auto status = proxy.proc().wait_exit(5s);
    ASSERT_TRUE(status.has_value()) << "still running 5 s after SIGTERM";
    EXPECT_EQ(*status, 0);
}

TEST(ProxyShutdown, SigtermClosesIdleKeepAliveConnectionsAndExits0) {
    fake_backend backend;
    spillway_proxy proxy(backend.url());
    http_client idle(proxy.port());
    ASSERT_EQ(idle.request(make_request("GET", "/once")).status, 200u);
    proxy.proc().signal(SIGINT);
    EXPECT_TRUE(idle.wait_closed(3s));
    const auto status = proxy.proc().wait_exit(3s);
    ASSERT_TRUE(status.has_value()) << "idle connection held the shutdown";
    EXPECT_EQ(*status, 0);
}

}  // namespace
}  // namespace spillway::test
