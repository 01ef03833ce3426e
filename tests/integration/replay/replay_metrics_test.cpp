// The replay's admin listener: exact counters for a known mix of outcomes, consumer lag that
// keeps growing while the partitions are paused (backend down), and /ready following Kafka.

#include "replay_fixture.hpp"
#include "support/http_client.hpp"
#include "support/prometheus.hpp"

#include <set>
#include <thread>

namespace spillway::test::replay {
namespace {

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    return wait_until(pred, timeout, 100ms);
}

TEST_F(ReplayTest, MetricsCountDeliveredRetriedAndDeadLetteredExactly) {
    constexpr std::size_t delivered = 40;
    constexpr std::size_t rejected = 5;  // 404: dead-lettered after one attempt
    constexpr std::size_t retried = 3;  // 503 once, then delivered
    constexpr std::size_t poison = 2;  // not envelopes: dead-lettered, never sent
    std::vector<unsigned> script(rejected, 404);
    script.insert(script.end(), retried, 503);
    backend_->script(script);
    std::vector<envelope::envelope> batch;
    for (std::size_t i = 0; i < delivered + rejected; ++i) {
        batch.push_back(make_envelope("/api/item/" + std::to_string(i)));
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", batch);
    produce(broker_->bootstrap(), "failed-requests", {{"p1", "not json"}, {"p2", "{}"}});
    start_replay();

    prom_scrape m;
    ASSERT_TRUE(eventually(
        [&] {
            m = scrape(admin_port_);
            return m.value("spillway_replay_messages_total", {{"outcome", "delivered"}}) ==
                       double(delivered) &&
                   m.value("spillway_replay_messages_total", {{"outcome", "dead_lettered"}}) ==
                       double(rejected + poison);
        },
        30s))
        << "delivered "
        << m.value("spillway_replay_messages_total", {{"outcome", "delivered"}}).value_or(-1)
        << ", dead-lettered "
        << m.value("spillway_replay_messages_total", {{"outcome", "dead_lettered"}}).value_or(-1);
    EXPECT_TRUE(m.malformed.empty()) << m.malformed.front();
    EXPECT_EQ(m.value("spillway_replay_messages_total", {{"outcome", "retried"}}), double(retried));
    EXPECT_EQ(m.value("spillway_replay_messages_total", {{"outcome", "abandoned"}}), 0.0);
    const double attempts = delivered + rejected + retried;
    EXPECT_EQ(m.value("spillway_replay_attempts_total"), attempts);
    EXPECT_EQ(backend_->request_count(), std::size_t(attempts));
    EXPECT_EQ(m.value("spillway_replay_attempt_duration_seconds_count"), attempts);
    EXPECT_EQ(m.value("spillway_replay_in_flight"), 0.0);
    EXPECT_EQ(m.value("spillway_replay_paused"), 0.0);
    EXPECT_EQ(m.value("spillway_replay_dlq_delivery_seconds_count", {{"result", "delivered"}}),
              double(rejected + poison))
        << "one acknowledged dead letter each";
    EXPECT_EQ(m.types.at("spillway_replay_consumer_lag"), "gauge");

    // Every message is finished: once committed (auto-commit, 1 s) and checked (every 2 s), each
    // of the three partitions shows a lag of 0.
    ASSERT_TRUE(eventually(
        [&] {
            m = scrape(admin_port_);
            return m.count("spillway_replay_consumer_lag") == 3 &&
                   m.sum("spillway_replay_consumer_lag") == 0;
        },
        20s))
        << m.count("spillway_replay_consumer_lag") << " partitions, lag "
        << m.sum("spillway_replay_consumer_lag");
    EXPECT_TRUE(
        m.value("spillway_replay_consumer_lag", {{"topic", "failed-requests"}, {"partition", "2"}})
            .has_value());
}

TEST_F(ReplayTest, LagGrowsWhilePausedForABackendOutageAndDrainsAfter) {
    backend_->go_down();
    std::vector<envelope::envelope> first(20);
    for (auto& e : first) {
        e = make_envelope();
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", first);
    auto& replay = start_replay();
    ASSERT_TRUE(replay.wait_for_output("is down", 20s));
    prom_scrape m;
    ASSERT_TRUE(eventually(
        [&] {
            m = scrape(admin_port_);
            return m.value("spillway_replay_paused") == 1.0 &&
                   m.sum("spillway_replay_consumer_lag") == 20;
        },
        20s))
        << "lag " << m.sum("spillway_replay_consumer_lag");
    // Paused partitions are not fetched, so librdkafka's own lag would freeze here; ours is asked
    // of the brokers and must see these too.
    std::vector<envelope::envelope> more(7);
    for (auto& e : more) {
        e = make_envelope();
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", more);
    EXPECT_TRUE(eventually(
        [&] { return scrape(admin_port_).sum("spillway_replay_consumer_lag") == 27; }, 20s));
    EXPECT_EQ(fetch(admin_port_, "GET", "/ready").status, 200u)
        << "a down backend is what the replay handles: it stays ready";

    backend_->come_back();
    ASSERT_TRUE(backend_->wait_for_effects(27, 20s));
    EXPECT_TRUE(eventually(
        [&] {
            m = scrape(admin_port_);
            return m.value("spillway_replay_paused") == 0.0 &&
                   m.sum("spillway_replay_consumer_lag") == 0 &&
                   m.value("spillway_replay_messages_total", {{"outcome", "delivered"}}) == 27.0;
        },
        20s));
    EXPECT_EQ(m.value("spillway_replay_backend_outages_total"), 1.0);
    EXPECT_EQ(m.value("spillway_replay_attempts_total"), 27.0)
        << "connect failures are not attempts";
}

// A full backlog only stops taking messages (librdkafka's queue holds the rest); a backlog that
// stays full (here the one slot is held) pauses the partitions before the consumer would leave
// its group for not polling (the fixture's max.poll.interval.ms is 4 s, so after 1 s), and once
// the slot is free again every message is delivered.
TEST_F(ReplayTest, ABacklogStuckFullPausesWithoutLeavingTheGroupAndLosesNothing) {
    start_environment({.concurrency = 1});  // backlog high watermark: max(1024, 64 x 1) = 1024
    constexpr std::size_t total = 1100;
    std::vector<envelope::envelope> batch;
    for (std::size_t i = 0; i < total; ++i) {
        batch.push_back(make_envelope("/api/item/" + std::to_string(i)));
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", batch);
    backend_->hold_after(0);  // the one slot stays busy: nothing leaves the backlog
    auto& replay = start_replay();

    prom_scrape m;
    ASSERT_TRUE(eventually(
        [&] {
            m = scrape(admin_port_);
            return m.value("spillway_replay_backlog") == 1024.0 &&
                   m.value("spillway_replay_backlog_full") == 1.0;
        },
        20s))
        << "backlog " << m.value("spillway_replay_backlog").value_or(-1) << ", paused "
        << m.value("spillway_replay_backlog_full").value_or(-1);
    EXPECT_EQ(m.value("spillway_replay_paused"), 0.0) << "that pause is not a backend outage";
    // Past max.poll.interval.ms: still in the group, because the paused consumer polls.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);  // (a fixed span on purpose: nothing must happen)
    }
    EXPECT_FALSE(replay.stderr_text().find("leaving group") != std::string::npos)
        << replay.stderr_text();

    backend_->release();
    ASSERT_TRUE(eventually(
        [&] {
            m = scrape(admin_port_);
            return m.value("spillway_replay_messages_total", {{"outcome", "delivered"}}) ==
                       double(total) &&
                   m.value("spillway_replay_backlog_full") == 0.0;
        },
        30s))
        << "delivered "
        << m.value("spillway_replay_messages_total", {{"outcome", "delivered"}}).value_or(-1);
    std::set<std::string> keys;
    for (const auto& r : backend_->requests()) {
        keys.insert(r.header("Idempotency-Key").value_or(""));
    }
    // The held request may have timed out and been retried; nothing is missing.
    EXPECT_EQ(keys.size(), total);
}

TEST_F(ReplayTest, ReadyFollowsKafkaWithTheReasonInThe503) {
    start_replay();
    EXPECT_EQ(fetch(admin_port_, "GET", "/health").status, 200u);
    ASSERT_TRUE(eventually([&] { return fetch(admin_port_, "GET", "/ready").status == 200; }, 20s))
        << fetch(admin_port_, "GET", "/ready").body;
    EXPECT_EQ(fetch(admin_port_, "GET", "/ready").body, R"({"status":"ready"})");
    EXPECT_EQ(scrape(admin_port_).value("spillway_replay_ready"), 1.0);

    ASSERT_TRUE(broker_->down());
    response ready;
    // Noticed at the next check (every 2 s) once its request times out (2 s).
    ASSERT_TRUE(eventually(
        [&] {
            ready = fetch(admin_port_, "GET", "/ready");
            return ready.status == 503;
        },
        20s));
    EXPECT_NE(ready.body.find(R"("status":"not_ready","reason":"kafka unreachable: )"),
              std::string::npos)
        << ready.body;
    EXPECT_EQ(scrape(admin_port_).value("spillway_replay_ready"), 0.0);

    ASSERT_TRUE(broker_->up());
    EXPECT_TRUE(eventually([&] { return fetch(admin_port_, "GET", "/ready").status == 200; }, 30s))
        << fetch(admin_port_, "GET", "/ready").body;
}

}  // namespace
}  // namespace spillway::test::replay
