#include "spillway/replay/offset_tracker.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

TEST(OffsetTracker, CommitsOnlyContiguousFinishedOffsets) {
    offset_tracker t;
    t.assign(0);
    auto a = *t.start(0, 10);
    auto b = *t.start(0, 11);
    auto c = *t.start(0, 12);
    EXPECT_EQ(t.finish(c), std::nullopt) << "12 finished while 10 and 11 are not";
    EXPECT_EQ(t.finish(b), std::nullopt) << "11 finished while 10 is not";
    EXPECT_EQ(t.finish(a), std::optional<std::int64_t>(13)) << "all three finished";
    EXPECT_EQ(t.outstanding(0), 0u);
}

TEST(OffsetTracker, ToleratesGapsInOffsets) {
    offset_tracker t;
    t.assign(3);
    auto a = *t.start(3, 5);
    auto b = *t.start(3, 9);  // compaction or transaction markers leave gaps
    EXPECT_EQ(t.finish(a), std::optional<std::int64_t>(6));
    EXPECT_EQ(t.finish(b), std::optional<std::int64_t>(10));
}

TEST(OffsetTracker, PartitionsAreIndependent) {
    offset_tracker t;
    t.assign(0);
    t.assign(1);
    auto p0 = *t.start(0, 0);
    auto p1 = *t.start(1, 0);
    EXPECT_EQ(t.finish(p1), std::optional<std::int64_t>(1)) << "p0 being busy must not block p1";
    EXPECT_EQ(t.outstanding(), 1u);
    EXPECT_EQ(t.finish(p0), std::optional<std::int64_t>(1));
}

TEST(OffsetTracker, UnassignedPartitionIsNotStarted) {
    offset_tracker t;
    EXPECT_EQ(t.start(7, 1), std::nullopt);
}

TEST(OffsetTracker, RevokedAssignmentCannotMoveTheNewCommitPoint) {
    offset_tracker t;
    t.assign(0);
    auto old_ref = *t.start(0, 100);
    t.revoke(0);
    EXPECT_FALSE(t.current(old_ref));
    EXPECT_EQ(t.finish(old_ref), std::nullopt);

    t.assign(0);
    auto fresh = *t.start(0, 100);  // re-delivered to us after the rebalance
    EXPECT_EQ(t.finish(old_ref), std::nullopt) << "the old epoch must not finish the new message";
    EXPECT_EQ(t.outstanding(0), 1u);
    EXPECT_EQ(t.finish(fresh), std::optional<std::int64_t>(101));
}

TEST(OffsetTracker, FinishingTwiceIsHarmless) {
    offset_tracker t;
    t.assign(0);
    auto a = *t.start(0, 1);
    auto b = *t.start(0, 2);
    EXPECT_EQ(t.finish(a), std::optional<std::int64_t>(2));
    EXPECT_EQ(t.finish(a), std::nullopt);
    EXPECT_EQ(t.finish(b), std::optional<std::int64_t>(3));
}

TEST(OffsetTracker, ManyOutOfOrderFinishesCommitEverything) {
    offset_tracker t;
    t.assign(0);
    std::vector<message_ref> refs;
    for (std::int64_t o = 0; o < 1000; ++o) {
        refs.push_back(*t.start(0, o));
    }
    std::optional<std::int64_t> last;
    for (std::size_t i = refs.size(); i-- > 0;) {
        if (auto c = t.finish(refs[i])) {
            last = c;
        }
    }
    EXPECT_EQ(last, std::optional<std::int64_t>(1000));
}

}  // namespace
}  // namespace spillway::replay
