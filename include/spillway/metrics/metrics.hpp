#pragma once
// Metrics in the Prometheus text exposition format (version 0.0.4). Modules keep their own
// atomic counters where they count (one place per module); at scrape time the registry asks each
// registered collector to write its families. Nothing here is on the request path except
// histogram::observe, which is two relaxed atomic adds.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spillway::metrics {

using label_list = std::vector<std::pair<std::string_view, std::string_view>>;

// Writes metric families; each family's HELP and TYPE once, then its samples.
class exposition {
public:
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const label_list& labels, double value);
    void sample(std::string_view name, double value) { sample(name, {}, value); }

    const std::string& text() const { return out_; }

private:
    std::string out_;
};

// Latency buckets in seconds, from 0.5 ms to 10 s.
class histogram {
public:
    static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};

    void observe(std::chrono::steady_clock::duration d) noexcept;

    // Writes the _bucket, _sum and _count samples of `name` (the family is written by the caller).
    void write(exposition& out, std::string_view name, const label_list& labels = {}) const;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};  // last: +Inf
    std::atomic<std::uint64_t> sum_ns_{0};
    std::atomic<std::uint64_t> count_{0};
};

class registry {
public:
    using collector = std::function<void(exposition&)>;

    void add(collector c);
    std::string render() const;

private:
    mutable std::mutex mutex_;
    std::vector<collector> collectors_;
};

}  // namespace spillway::metrics
