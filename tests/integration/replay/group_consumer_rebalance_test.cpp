// The replay's group consumer across rebalances, driven step by step on the devbroker: a
// partition paused before a rebalance and resumed while it was not assigned is fetched again
// when it comes back. (librdkafka keeps a partition's pause flag across revocation and
// re-assignment: found by the chaos checker as a replay that delivered nothing after it lost
// and regained its partitions.)

#include "spillway/replay/group_consumer.hpp"

#include "replay_fixture.hpp"
#include "support/devbroker.hpp"
#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>

namespace spillway::test::replay {
namespace {

using spillway::replay::group_consumer;
using spillway::replay::rebalance_handlers;

// One member of group "rebalance-test": it records its rebalances and what it fetched, and is
// polled by the test (rebalance callbacks run inside poll()).
struct member {
    std::vector<std::vector<std::int32_t>> assignments;
    int revocations = 0;
    std::vector<std::string> fetched;
    std::unique_ptr<group_consumer> consumer;

    member(boost::asio::io_context& io, const config::config& cfg) {
        consumer = std::make_unique<group_consumer>(
            io.get_executor(), cfg,
            rebalance_handlers{[this](const auto& p) { assignments.push_back(p); },
                               [this](const auto&) { ++revocations; }});
    }
    void poll() {
        while (auto m = consumer->poll()) {
            fetched.push_back(m->value);
            consumer->store(m->partition, m->offset + 1);
        }
    }
};

// Polls the members until `done` holds (rebalances and fetches happen inside poll()).
bool poll_until(std::initializer_list<member*> members, const std::function<bool()>& done,
                std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
            for (auto* m : members) {
                m->poll();
            }
            return done();
        },
        timeout, 20ms);
}

config::config group_config(const std::string& bootstrap) {
    config::config cfg;
    cfg.kafka.brokers = bootstrap;
    cfg.replay.group_id = "rebalance-test";
    cfg.kafka.properties = {{"session.timeout.ms", "3000"},
                            {"heartbeat.interval.ms", "300"},
                            {"max.poll.interval.ms", "6000"}};
    return cfg;
}

TEST(GroupConsumerRebalance, APartitionResumedWhileRevokedIsFetchedAgainOnceReassigned) {
    devbroker broker({.partitions = 1});
    boost::asio::io_context io;
    const auto cfg = group_config(broker.bootstrap());

    member first(io, cfg);
    ASSERT_TRUE(poll_until(
        {&first}, [&] { return !first.assignments.empty(); }, 30s));
    // The replay pauses when the backend is down or its backlog is full.
    first.consumer->set_paused(true);

    // A second member joins: the first gives its partition up (eager rebalance) ...
    auto second = std::make_unique<member>(io, cfg);
    ASSERT_TRUE(poll_until(
        {&first, second.get()}, [&] { return first.revocations > 0; }, 30s));
    // ... and, while it owns nothing, the backend comes back: the replay resumes.
    first.consumer->set_paused(false);

    // The second member leaves; the partition comes back to the first.
    ASSERT_TRUE(poll_until(
        {&first, second.get()}, [&] { return first.assignments.size() >= 2; }, 30s));
    second->consumer->close();
    second.reset();
    ASSERT_TRUE(poll_until(
        {&first}, [&] { return !first.assignments.back().empty(); }, 30s))
        << "the partition never came back to the first member";

    produce(broker.bootstrap(), "failed-requests", {{"k1", "v1"}, {"k2", "v2"}, {"k3", "v3"}});
    EXPECT_TRUE(poll_until(
        {&first}, [&] { return first.fetched.size() >= 3; }, 20s))
        << "fetched " << first.fetched.size()
        << " of 3: the partition came back paused although the consumer was resumed";
    first.consumer->close();
}

}  // namespace
}  // namespace spillway::test::replay
