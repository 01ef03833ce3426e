#pragma once
// The real `spillway` binary of this build, for one test: a config file written into a temp dir
// (the test's settings merged over small defaults), free ports picked for its listener and its
// admin listener, started, and ready once both accept. Stopped by pid when the object goes away,
// also on failure. Its output and its /metrics can be read while it runs.

#include "support/ports.hpp"
#include "support/process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spillway::test {

// http://127.0.0.1:<a port nothing listens on>: every request to it gets a refused connect.
std::string dead_backend_url();

struct proxy_options {
    std::string backend_url;
    std::string brokers;  // empty: a port where no broker listens
    std::filesystem::path spool_dir;  // empty: a directory of the proxy's own
    nlohmann::json settings;  // merged (RFC 7386) over the defaults
    int stdout_fd = -1;  // process_options::stdout_fd
    std::optional<unsigned> max_open_files;  // process_options::max_open_files
    std::optional<std::uint64_t> max_file_size;  // process_options::max_file_size
    std::vector<std::pair<std::string, std::string>> env;  // process_options::env
};

class spillway_proxy {
public:
    // Defaults: listen on a free port, one thread, backend `backend_url` (connect timeout 1 s,
    // response timeout 2 s), admin on its own free port, logs at warn (access log on), the spool
    // in `spool_dir`. Kafka at `brokers` with a 5 s delivery timeout; without brokers, at a port
    // where no broker listens with a 500 ms one: nothing a test does can reach a Kafka that
    // happens to run on this machine, and a capture goes to the spool after a short wait.
    // Throws std::runtime_error when a listener does not accept within 10 s.
    explicit spillway_proxy(const proxy_options& options);
    explicit spillway_proxy(const std::string& backend_url, const nlohmann::json& settings = {});

    std::uint16_t port() const { return port_; }
    std::uint16_t admin_port() const { return admin_port_; }  // 0 when admin.listen is off
    process& proc() { return process_; }
    const nlohmann::json& config() const { return config_; }
    std::filesystem::path config_path() const { return dir_ / "spillway.json"; }

    // SIGTERM, then the exit status once it ended (nullopt when not within `timeout`).
    std::optional<int> terminate(std::chrono::milliseconds timeout = 15s);

    // One sample of GET /metrics: the one named `name` that carries every label in `labels`;
    // nullopt when there is none or the admin listener does not answer.
    std::optional<double> metric(std::string_view name,
                                 const std::map<std::string, std::string>& labels = {}) const;
    // Polls the metric until it equals `value` (false after `timeout`).
    bool wait_for_metric(std::string_view name, const std::map<std::string, std::string>& labels,
                         double value, std::chrono::milliseconds timeout = 10s) const;

private:
    temp_dir dir_{"spillway-proxy"};
    nlohmann::json config_;
    std::uint16_t port_ = 0;
    std::uint16_t admin_port_ = 0;
    process process_;
};

}  // namespace spillway::test
