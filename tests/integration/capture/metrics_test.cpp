// The proxy's admin listener: exact counters after a known mix of requests (N proxied, M
// captured), the exposition format itself, and /ready following Kafka.

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/prometheus.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

namespace spillway::test::capture_suite {
namespace {

// Scrapes and probes are cheap but not free: poll them ten times a second.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    return wait_until(pred, timeout, 100ms);
}

TEST(ProxyMetrics, CountersAreExactAfterNProxiedAndMCaptured) {
    devbroker broker;
    temp_dir spool("spillway-metrics-spool");
    fake_backend backend;
    backend.on("/fail", route{.status = 503});
    spillway_proxy p({backend.url(), broker.bootstrap(), spool.path(), {}});

    constexpr std::size_t proxied = 137;
    constexpr std::size_t captured = 23;
    auto ok = run_load({.port = p.port(), .connections = 8, .requests = proxied, .target = "/ok"});
    auto fail =
        run_load({.port = p.port(), .connections = 4, .requests = captured, .target = "/fail"});
    ASSERT_EQ(ok.answers.size(), proxied);
    ASSERT_EQ(fail.answers.size(), captured);
    EXPECT_EQ(queued_ids(fail, captured).size(), captured);

    const auto m = scrape(p.admin_port());
    ASSERT_TRUE(m.ok);
    EXPECT_TRUE(m.malformed.empty()) << m.malformed.front();
    EXPECT_EQ(m.value("spillway_requests_total", {{"outcome", "proxied"}}), double(proxied));
    EXPECT_EQ(m.value("spillway_requests_total", {{"outcome", "captured"}}), double(captured));
    EXPECT_EQ(m.value("spillway_requests_total", {{"outcome", "rejected"}}), 0.0);
    EXPECT_EQ(
        m.value("spillway_captured_total", {{"failure", "upstream_status"}, {"sink", "kafka"}}),
        double(captured));
    EXPECT_EQ(m.sum("spillway_captured_total"), double(captured));
    EXPECT_EQ(m.value("spillway_queued_total"), double(captured));
    EXPECT_EQ(m.value("spillway_upstream_duration_seconds_count"), double(proxied + captured));
    EXPECT_EQ(m.value("spillway_upstream_duration_seconds_bucket", {{"le", "+Inf"}}),
              double(proxied + captured));
    EXPECT_EQ(m.value("spillway_kafka_delivery_seconds_count", {{"result", "delivered"}}),
              double(captured));
    EXPECT_EQ(m.value("spillway_kafka_delivery_seconds_count", {{"result", "failed"}}), 0.0);
    EXPECT_GT(*m.value("spillway_kafka_delivery_seconds_sum", {{"result", "delivered"}}), 0.0);
    EXPECT_EQ(m.value("spillway_spool_records"), 0.0);
    // The proxy sees the load client's closes a moment after the client made them.
    EXPECT_TRUE(eventually(
        [&] { return scrape(p.admin_port()).value("spillway_open_connections") == 0.0; }, 5s));
    EXPECT_EQ(m.types.at("spillway_kafka_delivery_seconds"), "histogram");
    EXPECT_EQ(m.types.at("spillway_requests_total"), "counter");
}

TEST(ProxyMetrics, ReadyFollowsKafkaWithTheReasonInThe503) {
    devbroker broker;
    temp_dir spool("spillway-metrics-spool");
    spillway_proxy p({dead_backend_url(),
                      broker.bootstrap(),
                      spool.path(),
                      {{"kafka", {{"delivery_timeout_ms", 1000}}}}});

    EXPECT_EQ(fetch(p.admin_port(), "GET", "/health").status, 200u);
    ASSERT_TRUE(
        eventually([&] { return fetch(p.admin_port(), "GET", "/ready").status == 200; }, 20s))
        << fetch(p.admin_port(), "GET", "/ready").body;
    EXPECT_EQ(fetch(p.admin_port(), "GET", "/ready").body, R"({"status":"ready"})");

    ASSERT_TRUE(broker.down());
    response ready;
    ASSERT_TRUE(eventually(
        [&] {
            ready = fetch(p.admin_port(), "GET", "/ready");
            return ready.status == 503;
        },
        20s));
    EXPECT_EQ(
        ready.body,
        R"j({"status":"not_ready","reason":"kafka unreachable (captures go to the spool)"})j");
    EXPECT_EQ(scrape(p.admin_port()).value("spillway_kafka_connected"), 0.0);

    ASSERT_TRUE(broker.up());
    EXPECT_TRUE(
        eventually([&] { return fetch(p.admin_port(), "GET", "/ready").status == 200; }, 30s));
}

}  // namespace
}  // namespace spillway::test::capture_suite
