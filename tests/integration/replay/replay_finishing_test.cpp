// Every message is finished: a dead letter larger than librdkafka's default record limit goes to
// the dead-letter topic whole and its partition moves on; an exception inside the replay is
// retried; a revoked partition's requests on the wire are cancelled.

#include "replay_fixture.hpp"
#include "support/prometheus.hpp"

namespace spillway::test::replay {
namespace {

TEST_F(ReplayTest, AOnePointFiveMebibyteRequestIsDeadLetteredWholeAndItsPartitionMovesOn) {
    start_environment({.partitions = 1});  // the next message is behind it on the same partition
    backend_->on("/api/huge", route{.status = 413});  // dead-lettered on the first answer
    std::string body(1536 * 1024, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = i % 100 == 99 ? '\n' : static_cast<char>('a' + i % 26);
    }
    const auto huge = make_envelope("/api/huge", body);
    const auto next = make_envelope("/api/next");
    produce_envelopes(broker_->bootstrap(), "failed-requests", {huge, next});
    start_replay();

    ASSERT_TRUE(backend_->wait_for_effects(1, 20s));
    EXPECT_EQ(backend_->effects().count(next.id), 1u);
    // Both finished: the commit point passed the dead letter (auto-commit, every second).
    ASSERT_TRUE(wait_until(
        [&] {
            return committed_offsets(broker_->bootstrap(), "spillway-replay",
                                     "failed-requests")[0] == 2;
        },
        20s, 200ms))
        << "the partition's commit point is stuck behind the dead letter";

    const auto by_kcat = kcat::consume_all(broker_->bootstrap(), "failed-requests.dlq");
    ASSERT_EQ(by_kcat.size(), 1u);
    const auto by_us = read_topic(broker_->bootstrap(), "failed-requests.dlq");
    ASSERT_EQ(by_us.size(), 1u);
    EXPECT_EQ(by_us[0], by_kcat[0].value) << "two readers, one record";
    EXPECT_FALSE(by_kcat[0].header("spillway-dlq-body-omitted").has_value());
    const auto parsed = envelope::parse_envelope(by_us[0]);
    ASSERT_TRUE(std::holds_alternative<envelope::envelope>(parsed));
    const auto& dead = std::get<envelope::envelope>(parsed);
    EXPECT_EQ(dead.id, huge.id);
    EXPECT_TRUE(dead.body == body) << "the body is whole, byte for byte";
    ASSERT_TRUE(dead.dlq);
    EXPECT_EQ(dead.dlq->last_status, std::optional<unsigned>(413));
    EXPECT_EQ(scrape(admin_port_).value("spillway_replay_dlq_produce_failures_total"), 0.0);
}

TEST_F(ReplayTest, AnExceptionInsideTheReplayIsCountedAndTheMessageReplayedAgain) {
    start_environment({.partitions = 1,
                       .env = {{"SPILLWAY_TEST_THROW_ON_URI", "/api/throws"},
                               {"SPILLWAY_TEST_THROW_TIMES", "2"}}});
    const auto throws = make_envelope("/api/throws");
    const auto after = make_envelope("/api/after");
    produce_envelopes(broker_->bootstrap(), "failed-requests", {throws, after});
    auto& replay = start_replay();

    ASSERT_TRUE(backend_->wait_for_effects(2, 20s)) << replay.stderr_text();
    EXPECT_EQ(backend_->effects().count(throws.id), 1u);
    EXPECT_TRUE(replay.wait_for_output("replay failed inside the consumer (2 of 10)", 5s));
    EXPECT_TRUE(replay.wait_for_output(throws.id + " (0@0): replay failed inside the consumer", 1s))
        << "logged with the id";
    EXPECT_EQ(scrape(admin_port_).value("spillway_internal_errors_total"), 2.0);
    ASSERT_TRUE(wait_until(
        [&] {
            return committed_offsets(broker_->bootstrap(), "spillway-replay",
                                     "failed-requests")[0] == 2;
        },
        20s, 200ms));
    EXPECT_EQ(replay.stop(), 0);
    EXPECT_TRUE(dead_letters().empty());
}

TEST_F(ReplayTest, AMessageThatAlwaysThrowsIsDeadLetteredAfterMaxAttemptsAndTheNextDelivered) {
    start_environment({.max_attempts = 3,
                       .partitions = 1,
                       .env = {{"SPILLWAY_TEST_THROW_ON_URI", "/api/throws"},
                               {"SPILLWAY_TEST_THROW_TIMES", "1000"}}});
    const auto throws = make_envelope("/api/throws");
    const auto after = make_envelope("/api/after");
    produce_envelopes(broker_->bootstrap(), "failed-requests", {throws, after});
    start_replay();

    std::vector<nlohmann::json> dlq;
    ASSERT_TRUE(wait_until([&] { return !(dlq = dead_letters()).empty(); }, 20s, 100ms));
    ASSERT_TRUE(backend_->wait_for_effects(1, 20s));
    EXPECT_EQ(dlq[0]["id"], throws.id);
    EXPECT_EQ(dlq[0]["uri"], "/api/throws") << "dead-lettered as it was read";
    EXPECT_NE(dlq[0]["dlq"]["reason"].get<std::string>().find("internal error: injected fault"),
              std::string::npos)
        << dlq[0]["dlq"]["reason"];
    EXPECT_EQ(scrape(admin_port_).value("spillway_internal_errors_total"), 3.0);
    EXPECT_EQ(backend_->requests().size(), 1u) << "only the next message reached the backend";
    ASSERT_TRUE(wait_until(
        [&] {
            return committed_offsets(broker_->bootstrap(), "spillway-replay",
                                     "failed-requests")[0] == 2;
        },
        20s, 200ms));
}

TEST_F(ReplayTest, ARevokedPartitionsRequestsOnTheWireAreCancelled) {
    start_environment({.concurrency = 4, .partitions = 2, .dedupe = true});
    backend_->hold_after(0);  // every request is received, none answered: all stay on the wire
    std::vector<envelope::envelope> batch;
    for (int i = 0; i < 8; ++i) {
        batch.push_back(make_envelope("/api/item/" + std::to_string(i)));
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", batch);
    start_replay();
    const auto first_admin = admin_port_;
    ASSERT_TRUE(backend_->wait_for_requests(4, 20s));

    // A second member joins: the first gives up its partitions (eager rebalance) mid-request.
    start_replay({}, false);
    auto& first = replays_[0];  // (references taken before the second start would dangle)
    auto& second = replays_[1];
    ASSERT_TRUE(wait_until(
        [&] {
            return scrape(first_admin)
                       .value("spillway_replay_exchanges_cancelled_total")
                       .value_or(0) >= 1;
        },
        30s, 100ms))
        << first.stderr_text();
    ASSERT_TRUE(second.wait_for_output("assigned partitions", 30s));
    const auto m = scrape(first_admin);
    EXPECT_GE(m.value("spillway_replay_messages_total", {{"outcome", "abandoned"}}).value_or(0),
              1.0);
    EXPECT_EQ(m.value("spillway_replay_messages_total", {{"outcome", "retried"}}), 0.0)
        << "a cancelled exchange is not a failed attempt";

    backend_->release();
    ASSERT_TRUE(backend_->wait_for_effects(batch.size(), 30s));
    EXPECT_EQ(first.stop(), 0);
    EXPECT_EQ(second.stop(), 0);
    EXPECT_TRUE(dead_letters().empty());
}

}  // namespace
}  // namespace spillway::test::replay
