// The replay's outage rule over real sockets and the devbroker: a backend (or its load balancer)
// answering 503 to everything dead-letters nothing; a 503 for one message while the probe says
// "up" is that message's failure; Retry-After holds the next attempt.

#include "replay_fixture.hpp"
#include "support/prometheus.hpp"

#include <set>

namespace spillway::test::replay {
namespace {

double metric(std::uint16_t port, std::string_view name,
              const std::map<std::string, std::string>& labels = {}) {
    return scrape(port).value(name, labels).value_or(-1);
}

std::vector<recorded_request> requests_to(const fake_backend& backend, std::string_view target) {
    std::vector<recorded_request> out;
    for (auto& r : backend.requests()) {
        if (r.target == target) {
            out.push_back(std::move(r));
        }
    }
    return out;
}

TEST_F(ReplayTest, ServiceUnavailableToEverythingForFifteenSecondsDeadLettersNothing) {
    start_environment({.max_attempts = 3});
    backend_->set_default(route{.status = 503});
    backend_->on(probe_path, route{.status = 503});  // the load balancer answers the probe too
    std::vector<envelope::envelope> batch;
    for (int i = 0; i < 20; ++i) {
        batch.push_back(make_envelope("/api/item/" + std::to_string(i)));
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", batch);
    auto& replay = start_replay();

    ASSERT_TRUE(replay.wait_for_output("is down", 20s)) << replay.stderr_text();
    // 15 s of outage, counted in probes (one every 50 ms): with 3 attempts and a backoff of
    // 20-200 ms, counted attempts would have dead-lettered everything a hundred times over.
    ASSERT_TRUE(wait_until([&] { return backend_->probe_count() >= 300; }, 40s, 50ms));
    const auto during = scrape(admin_port_);
    EXPECT_EQ(during.value("spillway_replay_backend_up"), 0.0);
    EXPECT_EQ(during.value("spillway_replay_paused"), 1.0);
    EXPECT_GE(during.value("spillway_replay_probes_total", {{"result", "down"}}).value_or(0),
              300.0);
    EXPECT_GE(during.value("spillway_replay_attempts_not_counted_total", {{"reason", "outage"}})
                  .value_or(0),
              1.0);
    EXPECT_EQ(during.value("spillway_replay_messages_total", {{"outcome", "retried"}}), 0.0);
    const auto sent_during_outage = backend_->request_count();
    EXPECT_LE(sent_during_outage, 16u) << "a down backend gets probes, not the backlog";

    backend_->set_default(route{.status = 200});
    backend_->on(probe_path, route{.status = 200});
    ASSERT_TRUE(backend_->wait_for_effects(batch.size(), 20s));
    EXPECT_TRUE(replay.wait_for_output("answers again", 5s));
    for (const auto& r : backend_->requests()) {
        EXPECT_EQ(r.header("X-Spillway-Replay-Attempt"), "1")
            << r.target << ": the outage used no attempt (status " << r.status << ")";
    }
    EXPECT_EQ(metric(admin_port_, "spillway_replay_backend_up"), 1.0);
    EXPECT_EQ(replay.stop(), 0);
    EXPECT_TRUE(dead_letters().empty());
}

TEST_F(ReplayTest,
       ServiceUnavailableForOneMessageWhileTheProbeSaysUpIsDeadLetteredAfterMaxAttempts) {
    start_environment({.max_attempts = 3});
    backend_->on("/api/broken", route{.status = 503});  // the probe path answers 200
    auto broken = make_envelope("/api/broken");
    std::vector<envelope::envelope> batch{broken};
    for (int i = 0; i < 5; ++i) {
        batch.push_back(make_envelope("/api/item/" + std::to_string(i)));
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", batch);
    start_replay();

    std::vector<nlohmann::json> dlq;
    ASSERT_TRUE(wait_until([&] { return !(dlq = dead_letters()).empty(); }, 20s, 100ms));
    ASSERT_TRUE(backend_->wait_for_effects(5, 20s));
    ASSERT_EQ(dlq.size(), 1u);
    EXPECT_EQ(dlq[0]["id"], broken.id);
    EXPECT_EQ(dlq[0]["dlq"]["attempts"], 3);
    EXPECT_EQ(dlq[0]["dlq"]["last_status"], 503);
    const auto sent = requests_to(*backend_, "/api/broken");
    ASSERT_EQ(sent.size(), 3u);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        EXPECT_EQ(sent[i].header("X-Spillway-Replay-Attempt"), std::to_string(i + 1));
    }
    const auto m = scrape(admin_port_);
    EXPECT_GE(m.value("spillway_replay_probes_total", {{"result", "up"}}).value_or(0), 1.0)
        << "each 503 was checked against the probe";
    EXPECT_EQ(m.value("spillway_replay_probes_total", {{"result", "down"}}), 0.0);
    EXPECT_EQ(m.value("spillway_replay_backend_outages_total"), 0.0);
    EXPECT_EQ(m.value("spillway_replay_attempts_not_counted_total", {{"reason", "outage"}}), 0.0);
}

TEST_F(ReplayTest, RetryAfterOn429And503HoldsTheNextAttempt) {
    start_environment({.backoff_initial_ms = 20, .backoff_max_ms = 10000});
    backend_->on("/api/limited", route{.status = 200, .headers = {{"Retry-After", "1"}}});
    backend_->script({429, 503});  // then the route's 200; the probe (up) is not scripted
    produce_envelopes(broker_->bootstrap(), "failed-requests", {make_envelope("/api/limited")});
    start_replay();

    ASSERT_TRUE(backend_->wait_for_effects(1, 20s));
    const auto sent = backend_->requests();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].status, 429u);
    EXPECT_EQ(sent[1].status, 503u);
    EXPECT_EQ(sent[1].header("X-Spillway-Replay-Attempt"), "2");
    EXPECT_EQ(sent[2].header("X-Spillway-Replay-Attempt"), "3");
    // Measured where it matters, at the backend: at least the advertised second each time
    // (without it the backoff would be 20-80 ms).
    EXPECT_GE(sent[1].received_at - sent[0].received_at, 1000ms) << "after the 429";
    EXPECT_GE(sent[2].received_at - sent[1].received_at, 1000ms) << "after the 503";
}

TEST_F(ReplayTest, RetryAfterIsCappedAtBackoffMax) {
    start_environment({.backoff_initial_ms = 20, .backoff_max_ms = 300});
    backend_->on("/api/limited", route{.status = 200, .headers = {{"Retry-After", "3600"}}});
    backend_->script({429});
    produce_envelopes(broker_->bootstrap(), "failed-requests", {make_envelope("/api/limited")});
    start_replay();

    ASSERT_TRUE(backend_->wait_for_effects(1, 20s)) << "an hour's Retry-After was not capped";
    const auto sent = backend_->requests();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_LT(sent[1].received_at - sent[0].received_at, 5000ms);
}

}  // namespace
}  // namespace spillway::test::replay
