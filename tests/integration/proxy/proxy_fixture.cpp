#include "proxy_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace spillway::test {

namespace {

nlohmann::json default_settings(std::uint16_t port, const std::string& backend_url,
                                const std::filesystem::path& dir) {
    return {
        {"listen", "127.0.0.1:" + std::to_string(port)},
        {"threads", 1},
        {"shutdown_timeout_ms", 5000},
        {"backend", {{"url", backend_url}}},
        // No broker listens there: nothing a test does can reach a Kafka that happens to run on
        // this machine, and a capture goes to the test's own spool after a short wait.
        {"kafka",
         {{"brokers", "127.0.0.1:" + std::to_string(free_port())}, {"delivery_timeout_ms", 500}}},
        {"spool", {{"dir", (dir / "spool").string()}}},
        {"admin", {{"listen", "127.0.0.1:" + std::to_string(free_port())}}},
        {"log", {{"level", "warn"}, {"access_log", true}}},
    };
}

}  // namespace

std::optional<long> proc_status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            std::istringstream value(line.substr(field.size() + 1));
            long kib = 0;
            if (value >> kib) {
                return kib;
            }
        }
    }
    return std::nullopt;
}

bool built_with_asan() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#else
    return false;
#endif
}

spillway_proxy::spillway_proxy(const std::string& backend_url, const nlohmann::json& settings)
    : port_(free_port()), process_([&] {
          config_ = default_settings(port_, backend_url, dir_.path());
          if (!settings.is_null()) {
              config_.merge_patch(settings);
          }
          std::ofstream(config_path()) << config_.dump(2);
          return process::start(
              {bin_path("spillway"), {"--config", config_path().string()}, {}, "spillway"});
      }()) {
    if (!process_.wait_for_port(port_, 10s)) {
        throw std::runtime_error("spillway did not accept on port " + std::to_string(port_) +
                                 "; stderr: " + process_.stderr_text());
    }
    // The admin listener starts just after the proxy's own: wait for it too, so a test's first
    // scrape does not race it.
    if (const auto admin = admin_port_of(config_); admin && !process_.wait_for_port(*admin, 10s)) {
        throw std::runtime_error("spillway's admin listener did not accept on port " +
                                 std::to_string(*admin) + "; stderr: " + process_.stderr_text());
    }
}

}  // namespace spillway::test
