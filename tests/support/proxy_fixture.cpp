#include "support/proxy_fixture.hpp"

#include "support/prometheus.hpp"

#include <csignal>
#include <fstream>
#include <stdexcept>

namespace spillway::test {

namespace {

nlohmann::json default_settings(std::uint16_t port, const proxy_options& options,
                                const std::filesystem::path& dir) {
    const bool broker = !options.brokers.empty();
    return {
        {"listen", "127.0.0.1:" + std::to_string(port)},
        {"threads", 1},
        {"shutdown_timeout_ms", 5000},
        {"backend",
         {{"url", options.backend_url},
          {"connect_timeout_ms", 1000},
          {"response_timeout_ms", 2000}}},
        {"kafka",
         {{"brokers", broker ? options.brokers : "127.0.0.1:" + std::to_string(free_port())},
          {"delivery_timeout_ms", broker ? 5000 : 500}}},
        {"spool",
         {{"dir", (options.spool_dir.empty() ? dir / "spool" : options.spool_dir).string()}}},
        {"admin", {{"listen", "127.0.0.1:" + std::to_string(free_port())}}},
        {"log", {{"level", "warn"}, {"access_log", true}}},
    };
}

}  // namespace

std::string dead_backend_url() {
    return "http://127.0.0.1:" + std::to_string(free_port());
}

spillway_proxy::spillway_proxy(const std::string& backend_url, const nlohmann::json& settings)
    : spillway_proxy(proxy_options{.backend_url = backend_url, .settings = settings}) {}

spillway_proxy::spillway_proxy(const proxy_options& options)
    : port_(free_port()), process_([&] {
          config_ = default_settings(port_, options, dir_.path());
          if (!options.settings.is_null()) {
              config_.merge_patch(options.settings);
          }
          // A test may name the address (a second proxy taking over the first one's).
          const std::string listen = config_["listen"];
          port_ = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
          std::ofstream(config_path()) << config_.dump(2);
          return process::start({bin_path("spillway"),
                                 {"--config", config_path().string()},
                                 options.env,
                                 "spillway",
                                 options.stdout_fd,
                                 options.max_open_files,
                                 options.max_file_size});
      }()) {
    admin_port_ = admin_port_of(config_).value_or(0);
    if (!process_.wait_for_port(port_, 10s)) {
        throw std::runtime_error("spillway did not accept on port " + std::to_string(port_) +
                                 "; stderr: " + process_.stderr_text());
    }
    // The admin listener starts just after the proxy's own (so a probe that finds it knows the
    // proxy accepts): wait for it too, or a test's first scrape can race it (it did, under ASan).
    if (admin_port_ != 0 && !process_.wait_for_port(admin_port_, 10s)) {
        throw std::runtime_error("spillway's admin listener did not accept on port " +
                                 std::to_string(admin_port_) +
                                 "; stderr: " + process_.stderr_text());
    }
}

std::optional<int> spillway_proxy::terminate(std::chrono::milliseconds timeout) {
    process_.signal(SIGTERM);
    return process_.wait_exit(timeout);
}

std::optional<double> spillway_proxy::metric(
    std::string_view name, const std::map<std::string, std::string>& labels) const {
    return scrape(admin_port_).value(name, labels);
}

bool spillway_proxy::wait_for_metric(std::string_view name,
                                     const std::map<std::string, std::string>& labels, double value,
                                     std::chrono::milliseconds timeout) const {
    return wait_until([&] { return metric(name, labels) == value; }, timeout, 20ms);
}

}  // namespace spillway::test
