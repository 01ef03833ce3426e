// Measures the producer's batching settings against the devbroker; prints, asserts nothing about
// speed. Disabled in the suite; run with
//   build/bin/spillway_integration_tests --gtest_also_run_disabled_tests
//       --gtest_filter='*ProducerBench*'
// Optional: SPILLWAY_BENCH_LINGERS="0,1,2,5" (linger.ms values), SPILLWAY_BENCH_RECORDS=20000.

#include "spillway/kafka/producer.hpp"

#include "support/devbroker.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>

namespace spillway::test {
namespace {

using clock = std::chrono::steady_clock;

struct run_result {
    double records_per_s = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    std::size_t failed = 0;
};

// Shared by every callback of one run: latencies by record index, completion count.
struct bench_state {
    explicit bench_state(std::size_t n) : latency_us(n) {}
    std::vector<std::int64_t> latency_us;
    std::atomic<std::size_t> done{0};
    std::atomic<std::size_t> failed{0};
    std::mutex mutex;
    std::condition_variable cv;
    std::function<void()> on_done;  // closed-loop mode: starts the next record

    void finish(std::size_t index, clock::time_point start, bool ok) {
        latency_us[index] =
            std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start).count();
        if (!ok) {
            failed.fetch_add(1);
        }
        if (on_done) {
            on_done();
        }
        if (done.fetch_add(1) + 1 == latency_us.size()) {
            std::lock_guard lock(mutex);
            cv.notify_all();
        }
    }
    bool wait_all(std::chrono::seconds timeout) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, timeout, [&] { return done.load() == latency_us.size(); });
    }
};

class timing_callback final : public kafka::delivery_callback {
public:
    timing_callback(bench_state& state, std::size_t index)
        : state_(state), index_(index), start_(clock::now()) {}
    void on_delivery(const kafka::delivery_report& report) noexcept override {
        state_.finish(index_, start_, report.ok());
    }

private:
    bench_state& state_;
    std::size_t index_;
    clock::time_point start_;
};

kafka::record bench_record(std::size_t i) {
    kafka::record r;
    r.topic = "failed-requests";
    r.key = "0b9f6c1e-3a52-4f7e-9d0a-" + std::to_string(100000000000 + i);
    r.value = std::string(600, 'x');  // about the size of a small captured request's envelope
    r.headers = {{"spillway-id", r.key}, {"spillway-failure", "connect_error"}};
    return r;
}

run_result summarise(bench_state& state, clock::duration elapsed) {
    auto lat = state.latency_us;
    std::sort(lat.begin(), lat.end());
    run_result r;
    r.records_per_s = lat.size() / std::chrono::duration<double>(elapsed).count();
    r.p50_ms = lat[lat.size() / 2] / 1000.0;
    r.p99_ms = lat[lat.size() * 99 / 100] / 1000.0;
    r.failed = state.failed.load();
    return r;
}

// Every record handed over at once from `threads` threads, as a burst of captures would.
run_result burst(kafka::producer& producer, std::size_t n, int threads) {
    bench_state state(n);
    std::atomic<std::size_t> next{0};
    const auto start = clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (auto i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
                auto cb = std::make_unique<timing_callback>(state, i);
                if (producer.produce(bench_record(i), std::move(cb))) {
                    ADD_FAILURE() << "produce refused";
                    return;
                }
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    EXPECT_TRUE(state.wait_all(std::chrono::seconds(120)));
    return summarise(state, clock::now() - start);
}

// `concurrency` clients, each sending its next record when the previous one is acknowledged,
// as the proxy's connections do.
run_result closed_loop(kafka::producer& producer, std::size_t n, std::size_t concurrency) {
    bench_state state(n);
    std::atomic<std::size_t> next{0};
    auto send_next = [&] {
        const auto i = next.fetch_add(1);
        if (i < n) {
            producer.produce(bench_record(i), std::make_unique<timing_callback>(state, i));
        }
    };
    state.on_done = send_next;
    const auto start = clock::now();
    for (std::size_t c = 0; c < concurrency; ++c) {
        send_next();
    }
    EXPECT_TRUE(state.wait_all(std::chrono::seconds(120)));
    return summarise(state, clock::now() - start);
}

std::vector<std::string> linger_values() {
    const char* env = std::getenv("SPILLWAY_BENCH_LINGERS");
    std::stringstream in(env != nullptr ? env : "0,1,2,5");
    std::vector<std::string> out;
    for (std::string item; std::getline(in, item, ',');) {
        out.push_back(item);
    }
    return out;
}

TEST(ProducerBench, DISABLED_LingerSettings) {
    const char* env_n = std::getenv("SPILLWAY_BENCH_RECORDS");
    const std::size_t n = env_n != nullptr ? std::stoul(env_n) : 20000;
    std::printf("%-9s %-26s %12s %9s %9s\n", "linger.ms", "load", "records/s", "p50 ms", "p99 ms");
    for (const auto& linger : linger_values()) {
        devbroker broker;
        config::kafka_config cfg;
        cfg.brokers = broker.bootstrap();
        cfg.properties["linger.ms"] = linger;
        auto producer = kafka::make_producer(cfg);
        // Warm up: connection, metadata, producer id.
        (void)closed_loop(*producer, 100, 1);
        auto print = [&](const char* load, const run_result& r) {
            std::printf("%-9s %-26s %12.0f %9.2f %9.2f%s\n", linger.c_str(), load, r.records_per_s,
                        r.p50_ms, r.p99_ms, r.failed ? "  (failures!)" : "");
            std::fflush(stdout);
        };
        print("lone (1 in flight)", closed_loop(*producer, 500, 1));
        print("closed loop, 32 clients", closed_loop(*producer, n, 32));
        print("closed loop, 256 clients", closed_loop(*producer, n, 256));
        print("burst, all at once", burst(*producer, n, 2));
        producer->close(std::chrono::seconds(5));
    }
}

}  // namespace
}  // namespace spillway::test
