#include "spillway/spool/drainer.hpp"

#include "spillway/spool/sqlite.hpp"

#include "unit/spool/spool_fixtures.hpp"

#include <gtest/gtest.h>

namespace spillway::spool {
namespace {

using namespace testing;
using std::chrono::milliseconds;

std::vector<std::string> keys(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) {
        out.push_back("key-" + std::to_string(i));
    }
    return out;
}

std::vector<std::string> spooled_keys(spool& s) {
    std::vector<std::string> out;
    for (const auto& r : s.read_after(0, 100000, 1ull << 40)) {
        out.push_back(r.record.key);
    }
    return out;
}

drainer_options fast_options() {
    drainer_options o;
    o.backoff_initial = milliseconds(5);
    o.backoff_max = milliseconds(20);
    return o;
}

class DrainerTest : public ::testing::Test {
protected:
    void fill(int n) { ASSERT_FALSE(append_all_and_wait(spool_, 0, n)); }

    temp_dir dir_;
    spool spool_{dir_.config()};
    fake_producer producer_;
};

TEST_F(DrainerTest, SendsInOrderAndDeletesOnlyAfterDelivery) {
    fill(50);
    drainer d(spool_, producer_, fast_options());
    d.start();
    ASSERT_TRUE(producer_.wait_pending(50));
    EXPECT_EQ(producer_.produced_keys(), keys(0, 50));
    const auto sent = producer_.pending_records();
    EXPECT_EQ(sent[7].value, make_record(7).value);
    EXPECT_EQ(sent[7].headers, make_record(7).headers);
    // Produced but not reported: nothing may be deleted yet.
    EXPECT_EQ(spool_.records(), 50u);

    producer_.finish(20, true);
    ASSERT_TRUE(eventually([&] { return spool_.records() == 30; }));
    EXPECT_EQ(spooled_keys(spool_), keys(20, 50));

    producer_.finish(30, true);
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
    EXPECT_EQ(spool_.bytes(), 0u);
    EXPECT_EQ(d.delivered(), 50u);
    EXPECT_EQ(d.failed(), 0u);
    EXPECT_EQ(producer_.produced_keys().size(), 50u) << "something was sent twice";
}

TEST_F(DrainerTest, FailuresBackOffThenResendInTheSameOrder) {
    fill(10);
    drainer d(spool_, producer_, fast_options());
    d.start();
    ASSERT_TRUE(producer_.wait_pending(10));
    producer_.finish(10, false);  // Kafka down: every record times out
    EXPECT_EQ(spool_.records(), 10u);
    ASSERT_TRUE(producer_.wait_pending(10));  // the retry round
    producer_.finish(10, false);
    ASSERT_TRUE(producer_.wait_pending(10));
    EXPECT_EQ(spool_.records(), 10u);
    producer_.finish(10, true);  // Kafka back
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
    auto expected = keys(0, 10);
    auto three_rounds = expected;
    three_rounds.insert(three_rounds.end(), expected.begin(), expected.end());
    three_rounds.insert(three_rounds.end(), expected.begin(), expected.end());
    EXPECT_EQ(producer_.produced_keys(), three_rounds);
    EXPECT_EQ(d.failed(), 20u);
    EXPECT_EQ(d.delivered(), 10u);
}

TEST_F(DrainerTest, PartialFailureResendsOnlyWhatWasNotDelivered) {
    fill(10);
    drainer d(spool_, producer_, fast_options());
    d.start();
    ASSERT_TRUE(producer_.wait_pending(10));
    producer_.finish(3, true);
    producer_.finish(1, false);  // key-3 failed
    producer_.finish(6, true);
    ASSERT_TRUE(producer_.wait_pending(1));
    EXPECT_EQ(producer_.pending_records().front().key, "key-3");
    producer_.finish(1, true);
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
    auto expected = keys(0, 10);
    expected.push_back("key-3");
    EXPECT_EQ(producer_.produced_keys(), expected);
}

TEST_F(DrainerTest, BoundsWhatIsInFlight) {
    fill(40);
    drainer_options o = fast_options();
    o.max_in_flight_records = 5;
    drainer d(spool_, producer_, o);
    d.start();
    for (int round = 0; round < 8; ++round) {
        ASSERT_TRUE(producer_.wait_pending(5)) << round;
        EXPECT_EQ(producer_.pending(), 5u);
        producer_.finish(5, true);
    }
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
    EXPECT_EQ(producer_.max_pending(), 5u);
    EXPECT_EQ(d.max_in_flight_seen(), 5u);
    EXPECT_EQ(producer_.produced_keys(), keys(0, 40));
}

TEST_F(DrainerTest, RefusedProduceIsRetriedInOrder) {
    fill(5);
    producer_.refuse_next(3);
    drainer d(spool_, producer_, fast_options());
    d.start();
    ASSERT_TRUE(producer_.wait_pending(5));
    EXPECT_EQ(producer_.refused(), 3);
    EXPECT_EQ(producer_.produced_keys(), keys(0, 5));
    producer_.finish(5, true);
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
}

TEST_F(DrainerTest, ARecordKafkaRefusesForGoodIsQuarantinedAndDoesNotBlockTheOthers) {
    fill(5);
    drainer d(spool_, producer_, fast_options());
    d.start();
    ASSERT_TRUE(producer_.wait_pending(5));
    producer_.finish(1, true);
    producer_.finish_with(1, kafka::errc::msg_size_too_large);
    producer_.finish(3, true);
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
    EXPECT_EQ(spool_.quarantined_records(), 1u);
    EXPECT_EQ(d.delivered(), 4u);
    EXPECT_EQ(d.quarantined(), 1u);
    EXPECT_EQ(d.failed(), 0u);
    EXPECT_EQ(producer_.produced_keys(), keys(0, 5)) << "the refused record was sent again";
}

TEST_F(DrainerTest, AProduceRefusedForGoodIsQuarantinedAndTheDrainGoesOn) {
    fill(3);
    // Larger than message.max.bytes: refused by produce() itself.
    producer_.refuse_next(1, kafka::errc::msg_size_too_large);
    drainer d(spool_, producer_, fast_options());
    d.start();
    ASSERT_TRUE(producer_.wait_pending(2));
    producer_.finish(2, true);
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
    EXPECT_EQ(spool_.quarantined_records(), 1u);
    EXPECT_EQ(d.quarantined(), 1u);
    EXPECT_EQ(producer_.produced_keys(), keys(1, 3));
}

TEST_F(DrainerTest, WakesWhenRecordsAreAppended) {
    drainer_options o = fast_options();
    o.rescan_interval = std::chrono::hours(1);  // only the append's wake-up can start it
    drainer d(spool_, producer_, o);
    d.start();
    ASSERT_FALSE(append_and_wait(spool_, make_record(0)));
    ASSERT_TRUE(producer_.wait_pending(1));
    producer_.finish(1, true);
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
    ASSERT_FALSE(append_and_wait(spool_, make_record(1)));
    ASSERT_TRUE(producer_.wait_pending(1));
    EXPECT_EQ(producer_.produced_keys(), keys(0, 2));
    producer_.finish(1, true);
}

TEST_F(DrainerTest, StopIsBoundedAndKeepsUnreportedRecords) {
    fill(3);
    drainer_options o = fast_options();
    o.rescan_interval = std::chrono::hours(1);
    drainer d(spool_, producer_, o);
    d.start();
    ASSERT_TRUE(producer_.wait_pending(3));
    producer_.finish(1, true);
    const auto start = std::chrono::steady_clock::now();
    d.stop(milliseconds(200));  // two reports never come
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::seconds(2));
    ASSERT_TRUE(eventually([&] { return spool_.records() == 2; }));
    EXPECT_EQ(spooled_keys(spool_), keys(1, 3));
    // Late reports after stop are harmless.
    producer_.finish(2, true);
    EXPECT_EQ(spool_.records(), 2u);
}

// A trigger on the spool's own file makes SQLite itself refuse every DELETE of a record, as a
// read-only or failing disk would: the real statement fails, no seam in the code under test.
class refused_deletes {
public:
    explicit refused_deletes(const std::string& path)
        : db_(sqlite::open(path, SQLITE_OPEN_READWRITE)) {
        sqlite3_busy_timeout(db_.get(), 5000);
        sqlite::exec_or_throw(db_.get(),
                              "CREATE TRIGGER refuse_delete BEFORE DELETE ON records BEGIN "
                              "SELECT RAISE(ABORT, 'injected: delete refused'); END");
    }
    void lift() { sqlite::exec_or_throw(db_.get(), "DROP TRIGGER refuse_delete"); }

private:
    sqlite::db_ptr db_;
};

TEST_F(DrainerTest, AFailedDeleteIsCountedRetriedAndNeverSentAgain) {
    fill(5);
    refused_deletes refusal(spool_.path());
    drainer d(spool_, producer_, fast_options());
    d.start();
    ASSERT_TRUE(producer_.wait_pending(5));
    producer_.finish(5, true);
    ASSERT_TRUE(eventually([&] { return d.delete_failures() >= 5; }));
    EXPECT_EQ(spool_.records(), 5u);
    EXPECT_FALSE(spool_.last_commit_ok());
    // Retried (with backoff), failing again, and meanwhile never handed to Kafka a second time.
    ASSERT_TRUE(eventually([&] { return d.delete_failures() >= 15; }));
    EXPECT_TRUE(eventually([&] { return d.undeleted() == 5; }));
    EXPECT_EQ(producer_.produced_keys().size(), 5u) << "a delivered record was sent again";
    EXPECT_EQ(d.delivered(), 5u);

    refusal.lift();
    ASSERT_TRUE(eventually([&] { return spool_.records() == 0; }));
    EXPECT_TRUE(eventually([&] { return d.undeleted() == 0; }));
    EXPECT_TRUE(spool_.last_commit_ok());
    EXPECT_EQ(producer_.produced_keys().size(), 5u);

    // The drain goes on as before.
    fill(1);
    ASSERT_TRUE(producer_.wait_pending(1));
    producer_.finish(1, true);
    EXPECT_TRUE(eventually([&] { return spool_.records() == 0; }));
}

}  // namespace
}  // namespace spillway::spool
