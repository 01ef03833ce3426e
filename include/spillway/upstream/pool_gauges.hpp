#pragma once
// The gauges of one connection pool to one backend endpoint, for /metrics.

#include <atomic>
#include <cstdint>

namespace spillway::upstream {

// Written only by the pool's own thread (plain load + store, no locked instruction), read by a
// scrape from another. The proxy keeps them in its backend_endpoint, which outlives the workers,
// so a connection destroyed late in shutdown still has somewhere to count.
struct alignas(64) pool_gauges {
    std::atomic<std::uint32_t> open{0};  // connections alive: idle or carrying a request
    std::atomic<std::uint32_t> idle{0};
    std::atomic<std::uint64_t> connects{0};  // new connections opened
    std::atomic<std::uint64_t> connect_errors{0};  // connect attempts that failed
    std::atomic<std::uint64_t> tls_handshake_errors{0};  // of those, in the TLS handshake

    static void add(std::atomic<std::uint32_t>& g, int delta) {
        g.store(g.load(std::memory_order_relaxed) + static_cast<std::uint32_t>(delta),
                std::memory_order_relaxed);
    }
    static void bump(std::atomic<std::uint64_t>& c) {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

}  // namespace spillway::upstream
