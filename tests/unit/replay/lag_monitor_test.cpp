#include "spillway/replay/lag_monitor.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

TEST(LagOf, EndMinusCommitted) {
    EXPECT_EQ(lag_of(120, 100, 0), 20);
    EXPECT_EQ(lag_of(100, 100, 0), 0);
}

TEST(LagOf, NeverCommittedCountsFromTheFirstRetainedOffset) {
    EXPECT_EQ(lag_of(120, -1, 30), 90);
    EXPECT_EQ(lag_of(0, -1, 0), 0);
}

TEST(LagOf, UnknownOffsetsGiveNoSample) {
    EXPECT_EQ(lag_of(-1, 10, 0), std::nullopt);
    EXPECT_EQ(lag_of(10, -1, -1), std::nullopt);
}

TEST(LagOf, ACommitAheadOfAStaleEndIsNotNegative) {
    EXPECT_EQ(lag_of(10, 12, 0), 0);
}

TEST(ReplayReadiness, ReadyOnlyOnceCheckedReachableAndInTheGroup) {
    kafka_check ok;
    ok.group_member = true;
    EXPECT_EQ(replay_readiness(true, ok), std::nullopt);
    EXPECT_EQ(replay_readiness(false, ok), "kafka not checked yet");
}

TEST(ReplayReadiness, SaysWhatIsWrong) {
    kafka_check down;
    down.unreachable = "Local: Timed out";
    EXPECT_EQ(replay_readiness(true, down), "kafka unreachable: Local: Timed out");

    kafka_check coordinator;
    coordinator.group_member = true;
    coordinator.coordinator = "Broker: Coordinator not available";
    EXPECT_EQ(replay_readiness(true, coordinator),
              "group coordinator not answering: Broker: Coordinator not available");

    kafka_check joining;
    EXPECT_EQ(replay_readiness(true, joining), "not a member of the consumer group yet (joining)");
}

}  // namespace
}  // namespace spillway::replay
