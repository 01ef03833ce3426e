// A bad seal key file is a configuration error (exit 2) naming its key, from the proxy and the
// replay alike and under --check-config too; without a key the proxy warns at start that
// credentials will not survive a replay (docs/sealing.md).

#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

namespace spillway::test {
namespace {

using json = nlohmann::json;

std::string write_key(const temp_dir& dir, const std::string& name, std::size_t size, mode_t mode) {
    const auto path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << std::string(size, 'k');
    ::chmod(path.c_str(), mode);
    return path;
}

std::string write_config(const temp_dir& dir, const json& capture) {
    const std::string nowhere = "127.0.0.1:" + std::to_string(free_port());
    const json cfg = {
        {"backend", {{"url", "http://" + nowhere}}},
        {"kafka", {{"brokers", nowhere}}},
        {"spool", {{"dir", (dir / "spool").string()}}},
        {"admin", {{"listen", "off"}}},
        {"capture", capture},
    };
    const auto path = (dir / "spillway.json").string();
    std::ofstream(path) << cfg.dump(2);
    return path;
}

command_result check(const std::string& binary, const std::string& config) {
    return run_command({bin_path(binary), {"--config", config, "--check-config"}, {}, binary}, 30s);
}

TEST(SealKeyExit, EveryBadKeyFileExits2NamingTheKeyFromBothDaemons) {
    temp_dir dir;
    const auto good = write_key(dir, "good", 32, 0600);
    struct bad_case {
        std::string what;
        json capture;
        std::string named;
    };
    std::vector<bad_case> cases = {
        {"missing", {{"seal_key_file", (dir / "missing").string()}}, "capture.seal_key_file"},
        {"group-readable",
         {{"seal_key_file", write_key(dir, "group", 32, 0640)}},
         "capture.seal_key_file"},
        {"world-readable",
         {{"seal_key_file", write_key(dir, "world", 32, 0644)}},
         "capture.seal_key_file"},
        {"31 bytes",
         {{"seal_key_file", write_key(dir, "short", 31, 0600)}},
         "capture.seal_key_file"},
        {"33 bytes",
         {{"seal_key_file", write_key(dir, "long", 33, 0600)}},
         "capture.seal_key_file"},
        {"bad open key",
         {{"seal_key_file", good},
          {"open_key_files", json::array({write_key(dir, "old", 16, 0600)})}},
         "capture.open_key_files[0]"},
    };
    if (::geteuid() != 0) {  // root reads whatever the mode says
        cases.push_back({"unreadable",
                         {{"seal_key_file", write_key(dir, "unreadable", 32, 0000)}},
                         "capture.seal_key_file"});
    }
    for (const auto& c : cases) {
        const auto config = write_config(dir, c.capture);
        for (const std::string binary : {"spillway", "spillway-replay"}) {
            SCOPED_TRACE(binary + ": " + c.what);
            const auto r = check(binary, config);
            EXPECT_EQ(r.exit_status, 2) << r.err;
            EXPECT_NE(r.err.find("configuration error: " + config + ": " + c.named + ": "),
                      std::string::npos)
                << r.err;
        }
    }
    const auto ok = check("spillway", write_config(dir, {{"seal_key_file", good}}));
    EXPECT_EQ(ok.exit_status, 0) << ok.err;
}

TEST(SealKeyExit, WithoutAKeyTheProxyWarnsThatCredentialsWillNotBeReplayed) {
    spillway_proxy proxy(dead_backend_url());
    EXPECT_TRUE(proxy.proc().wait_for_output("replayed without their credentials", 10s))
        << proxy.proc().stderr_text();
}

}  // namespace
}  // namespace spillway::test
