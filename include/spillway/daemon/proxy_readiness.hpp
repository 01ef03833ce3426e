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
    std::uint64_t spool_bytes = 0;  // live records
    std::uint64_t spool_max_bytes = 0;
    std::uint64_t spool_quarantined_bytes = 0;  // on disk, counted against spool.max_bytes
    std::uint64_t spool_disk_bytes = 0;  // spool.db and its log
    std::uint64_t spool_undeleted = 0;  // delivered records whose deletion failed (drainer)
    std::optional<std::string> kafka_fatal;  // the producer's fatal error, once it had one
};

// A spool this full (of spool.max_bytes) is not ready: the next burst would be refused.
inline constexpr double spool_nearly_full = 0.9;

// nullopt when ready, else every reason, joined with "; ".
std::optional<std::string> proxy_readiness(const storage_state& s);

}  // namespace spillway::daemon
