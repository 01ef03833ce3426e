#pragma once
// The proxy's GET /ready decision (DESIGN.md, "Admin and observability": Kafka reachable, spool
// writable), without I/O. A proxy that is not ready still answers and still queues what it can;
// the 503 tells a load balancer or an orchestrator that its "queued" promise is degraded.

#include <cstdint>
#include <optional>
#include <string>

namespace spillway::daemon {

struct storage_state {
    bool kafka_connected = false;  // a broker answered recently (producer::connected)
    bool spool_commit_ok = true;  // the spool's last transaction committed
    std::uint64_t spool_bytes = 0;
    std::uint64_t spool_max_bytes = 0;
};

// nullopt when ready, else every reason, joined with "; ".
std::optional<std::string> proxy_readiness(const storage_state& s);

}  // namespace spillway::daemon
