#pragma once
// The admin listener (admin.listen, loopback by default; never the public listener): GET /metrics
// (Prometheus text), GET /health (liveness: the process answers), GET /ready (readiness: what
// the daemon depends on is usable, else 503 with the reason). It runs on its own thread so a
// scrape never competes with the proxy's workers for their event loops.

#include "spillway/config/config.hpp"
#include "spillway/metrics/metrics.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace spillway::admin {

// nullopt when ready, else the reason ("kafka unreachable").
using readiness_check = std::function<std::optional<std::string>()>;

class admin_server {
public:
    admin_server(config::host_port listen, metrics::registry& metrics, readiness_check ready);
    ~admin_server();

    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    // Binds (throws boost::system::system_error when the address is taken) and starts the
    // thread.
    void start();
    void stop();

    std::uint16_t port() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

// Starts the listener. A configured admin.listen that cannot be bound is fatal (false, logged);
// the default address being taken (another daemon on this host) only costs a warning;
// admin.listen "off" starts nothing.
bool start_admin(admin_server& server, const config::config& cfg);

// The binary's default admin address when admin.listen is empty.
config::host_port admin_address(const config::config& cfg, std::uint16_t default_port);

}  // namespace spillway::admin
