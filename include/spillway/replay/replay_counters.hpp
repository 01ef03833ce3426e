#pragma once
// The replay's counters, for logs, tests and the admin endpoint (replay_metrics.cpp). Written on
// the engine's thread, read by the admin thread: relaxed atomics.

#include "spillway/metrics/metrics.hpp"

#include <atomic>
#include <cstdint>

namespace spillway::replay {

struct replay_counters {
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> retried{0};  // attempts that will be tried again
    std::atomic<std::uint64_t> dead_lettered{0};
    std::atomic<std::uint64_t> abandoned{0};  // left unfinished at shutdown or on a revoke
    std::atomic<std::uint64_t> backend_outages{0};
    std::atomic<std::uint64_t> in_flight{0};
    std::atomic<std::uint64_t> concurrency_limit{0};  // the AIMD limit now (replay.adaptive)
    std::atomic<std::uint64_t> attempts{0};  // requests the backend received (a status or
                                             // a failure after connecting)
    std::atomic<std::uint64_t> backlog{0};  // fetched, waiting for a slot
    // Partitions this replay holds in its group now. 0 with lag on the topic means nobody
    // delivers: a restarted replay waiting for a dead predecessor's session to expire, say.
    std::atomic<std::uint64_t> assigned_partitions{0};
    std::atomic<bool> paused_backend_down{false};
    std::atomic<bool> paused_backlog_full{false};
    metrics::histogram attempt_duration;  // one attempt: send -> status or failure

    // The outage rule (docs/replay.md, "Backend down").
    std::atomic<bool> backend_down{false};
    std::atomic<std::uint64_t> not_counted_connect{0};  // sends that could not connect
    std::atomic<std::uint64_t> not_counted_outage{0};  // attempts a probe showed met an outage
    std::atomic<std::uint64_t> probes_up{0};
    std::atomic<std::uint64_t> probes_down{0};

    // Every message is finished.
    std::atomic<std::uint64_t> internal_errors{0};  // exceptions out of a message's replay
    std::atomic<std::uint64_t> exchanges_cancelled{0};  // on the wire when the partition went
    std::atomic<std::uint64_t> dlq_produce_failures{0};  // failed dead-letter produces (retried)
    std::atomic<std::uint64_t> dlq_reduced{0};  // dead letters sent without their body
};

}  // namespace spillway::replay
