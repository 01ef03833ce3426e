// Listener addresses that are taken. The admin listener's default address (127.0.0.1:9901 for
// the proxy, 9902 for the replay) being taken only costs a warning: another daemon on this host
// has it, and the daemon runs without its admin listener. A configured admin.listen that is taken
// is a runtime failure, and so is the proxy's own listen: exit status 1, naming the address.
//
// The default ports are fixed, so these tests bind them themselves while the daemon starts; when
// another process already holds one, the test is skipped rather than disturbing that process.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::test {
namespace {

using json = nlohmann::json;

constexpr std::uint16_t proxy_default_admin_port = 9901;
constexpr std::uint16_t replay_default_admin_port = 9902;

// A socket listening on 127.0.0.1:port for the duration of a test.
class held_port {
public:
    explicit held_port(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        // SO_REUSEADDR as the daemons set it: a connection of an earlier test left in TIME_WAIT
        // does not keep us from the port, and a listening socket still keeps everyone else off.
        const int on = 1;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        if (fd_ < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
            ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd_, 1) != 0) {
            error_ = errno;
        }
    }
    ~held_port() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    held_port(const held_port&) = delete;
    held_port& operator=(const held_port&) = delete;

    bool held() const { return error_ == 0; }
    std::string error() const { return std::strerror(error_); }

private:
    int fd_;
    int error_ = 0;
};

std::string skip_reason(std::uint16_t port, const held_port& held) {
    return "127.0.0.1:" + std::to_string(port) +
           " (a daemon's default admin address) is taken by another process on this host (" +
           held.error() + "); this test needs it free to take it itself";
}

// What both daemons need to start on loopback without a broker: Kafka on a port where nothing
// listens, the spool in `dir`, logs at warn level (the warnings under test still show).
json daemon_settings(const temp_dir& dir, const std::string& backend_url) {
    return {
        {"listen", "127.0.0.1:" + std::to_string(free_port())},
        {"threads", 1},
        {"backend", {{"url", backend_url}}},
        {"kafka",
         {{"brokers", "127.0.0.1:" + std::to_string(free_port())}, {"delivery_timeout_ms", 500}}},
        {"spool", {{"dir", (dir / "spool").string()}}},
        {"log", {{"level", "warn"}}},
    };
}

std::string write_config(const temp_dir& dir, const json& cfg) {
    const auto path = (dir / "spillway.json").string();
    std::ofstream(path) << cfg.dump(2);
    return path;
}

std::uint16_t listen_port(const json& cfg) {
    const auto listen = cfg["listen"].get<std::string>();
    return static_cast<std::uint16_t>(std::stoul(listen.substr(listen.rfind(':') + 1)));
}

// admin.listen "" (the default) also in the environment: whatever the test runner's environment
// holds, the daemon uses its built-in admin address.
const std::vector<std::pair<std::string, std::string>> default_admin_env{
    {"SPILLWAY_ADMIN_LISTEN", ""}};

TEST(AdminPort, TheProxysDefaultAdminPortTakenIsAWarningAndTheProxyServes) {
    held_port admin(proxy_default_admin_port);
    if (!admin.held()) {
        GTEST_SKIP() << skip_reason(proxy_default_admin_port, admin);
    }
    fake_backend backend;
    temp_dir dir;
    const auto cfg = daemon_settings(dir, backend.url());
    auto proxy = process::start(
        {bin_path("spillway"), {"--config", write_config(dir, cfg)}, default_admin_env});

    ASSERT_TRUE(proxy.wait_for_port(listen_port(cfg))) << proxy.stderr_text();
    EXPECT_TRUE(proxy.wait_for_output("admin listener not started, its default address is taken"))
        << proxy.stderr_text();
    const auto res = fetch(listen_port(cfg), "GET", "/api/users");
    EXPECT_EQ(res.status, 200u) << res.error.message();
    EXPECT_EQ(res.body, "GET /api/users");
    EXPECT_TRUE(proxy.running());
    EXPECT_EQ(proxy.stop(), 0) << proxy.stderr_text();
}

TEST(AdminPort, TheReplaysDefaultAdminPortTakenIsAWarningAndTheReplayRuns) {
    held_port admin(replay_default_admin_port);
    if (!admin.held()) {
        GTEST_SKIP() << skip_reason(replay_default_admin_port, admin);
    }
    fake_backend backend;
    temp_dir dir;
    const auto cfg = daemon_settings(dir, backend.url());
    auto replay = process::start(
        {bin_path("spillway-replay"), {"--config", write_config(dir, cfg)}, default_admin_env});

    EXPECT_TRUE(replay.wait_for_output("admin listener not started, its default address is taken"))
        << replay.stderr_text();
    EXPECT_TRUE(replay.running());
    EXPECT_EQ(replay.stop(), 0) << replay.stderr_text();
}

TEST(AdminPort, AConfiguredAdminListenTakenExits1NamingIt) {
    const auto port = free_port();
    held_port admin(port);
    ASSERT_TRUE(admin.held()) << admin.error();
    fake_backend backend;
    temp_dir dir;
    auto cfg = daemon_settings(dir, backend.url());
    const std::string address = "127.0.0.1:" + std::to_string(port);
    cfg["admin"] = {{"listen", address}};
    const auto r = run_command({bin_path("spillway"), {"--config", write_config(dir, cfg)}}, 20s);
    EXPECT_EQ(r.exit_status, 1) << r.err;
    EXPECT_NE(r.err.find("cannot listen on admin.listen " + address), std::string::npos) << r.err;
}

TEST(AdminPort, TheProxysOwnListenTakenExits1NamingTheAddress) {
    fake_backend backend;
    temp_dir dir;
    auto cfg = daemon_settings(dir, backend.url());
    held_port taken(listen_port(cfg));
    ASSERT_TRUE(taken.held()) << taken.error();
    cfg["admin"] = {{"listen", "off"}};
    const auto r = run_command({bin_path("spillway"), {"--config", write_config(dir, cfg)}}, 20s);
    EXPECT_EQ(r.exit_status, 1) << r.err;
    EXPECT_NE(r.err.find("cannot listen on " + cfg["listen"].get<std::string>()), std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace spillway::test
