// bench/metrics_cost.sh: the instructions the request path spends on metrics, per request.
#include "spillway/metrics/metrics.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
// What one proxied request does for metrics on its path: one counter add and one histogram
// observation (the forwarder's two clock reads included), N times.
int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 10000000;
    const bool metrics = argc > 2 && argv[2][0] == '1';
    static std::atomic<std::uint64_t> requests{0};
    static spillway::metrics::histogram h;
    std::uint64_t sink = 0;
    for (long i = 0; i < n; ++i) {
        if (metrics) {
            const auto t0 = std::chrono::steady_clock::now();
            requests.fetch_add(1, std::memory_order_relaxed);
            h.observe(std::chrono::steady_clock::now() - t0);
        } else {
            sink += static_cast<std::uint64_t>(i);
        }
    }
    std::printf("%lu %lu\n", (unsigned long)requests.load(), (unsigned long)sink);
}
