#pragma once
// The real `spillway` binary of this build, for one test: a config file written into a temp dir
// (the test's settings merged over small defaults), a free port picked for it, started, and
// ready once its port accepts. Stopped by pid when the object goes away, also on failure.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "support/ports.hpp"
#include "support/process.hpp"

namespace spillway::test {

// A field of /proc/<pid>/status in KiB ("VmHWM", "VmRSS"), nullopt when unreadable.
std::optional<long> proc_status_kib(pid_t pid, const std::string& field);

// True when this test binary (and so the proxy) was built with AddressSanitizer.
bool built_with_asan();

class spillway_proxy {
public:
    // `settings` is merged (RFC 7386 merge patch) over the defaults: listen on a free port,
    // backend `backend_url`, one thread, admin on its own free port, Kafka on a port where no
    // broker listens (delivery timeout 500 ms), the spool in the temp dir, logs at warn level.
    // Throws std::runtime_error when the proxy does not accept connections within 10 s.
    spillway_proxy(const std::string& backend_url, const nlohmann::json& settings = {});

    std::uint16_t port() const { return port_; }
    process& proc() { return process_; }
    const nlohmann::json& config() const { return config_; }
    std::filesystem::path config_path() const { return dir_ / "spillway.json"; }

private:
    temp_dir dir_{"spillway-proxy"};
    nlohmann::json config_;
    std::uint16_t port_ = 0;
    process process_;
};

}  // namespace spillway::test
