// The durable store in process: where a record ends up for each answer Kafka and the spool can
// give, and that the waiting coroutine always resumes on its own executor.

#include "unit/capture/capture_fixtures.hpp"

#include <deque>
#include <string>

namespace spillway::capture {
namespace {

using spool::testing::make_record;

class DurableStoreTest : public testing::durable_store_fixture {
protected:
    // The id is a view the coroutine keeps: it must outlive the store, as the envelope's does.
    netx::task<sink> store(int i) {
        return store_->store(make_record(i), ids_.emplace_back("req-" + std::to_string(i)));
    }

    std::deque<std::string> ids_;
};

TEST_F(DurableStoreTest, AnAcknowledgedRecordIsStoredInKafkaAndNotSpooled) {
    auto r = run(store(1), deliver(true));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, sink::kafka);
    EXPECT_EQ(spool_->appended(), 0u);
}

TEST_F(DurableStoreTest, AFailedReportIsSpooled) {
    auto r = run(store(1), deliver(false));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, sink::spool);
    EXPECT_EQ(spool_->records(), 1u);
    auto stored = spool_->read_after(0, 10, 1ull << 20);
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].record.key, "key-1");
}

TEST_F(DurableStoreTest, ARecordKafkaRefusesForGoodIsNeitherStoredNorSpooled) {
    auto r = run(store(1), fail_with(kafka::errc::msg_size_too_large));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, sink::none);
    EXPECT_EQ(spool_->appended(), 0u);
    EXPECT_EQ(spool_->records(), 0u);
}

TEST_F(DurableStoreTest, ARecordTheProducerRefusesAtOnceIsSpooled) {
    producer_.refuse_next(1, kafka::errc::queue_full);
    auto r = run(store(1), nothing());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, sink::spool);
    EXPECT_EQ(producer_.refused(), 1);
    EXPECT_EQ(spool_->records(), 1u);
}

TEST_F(DurableStoreTest, WhenTheSpoolRefusesTooTheRecordIsNotStored) {
    open_spool(16);  // smaller than any record
    auto r = run(store(1), deliver(false));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, sink::none);
    EXPECT_EQ(spool_->rejected_full(), 1u);
    EXPECT_EQ(spool_->records(), 0u);
}

TEST_F(DurableStoreTest, TheStoreResumesOnTheCallersExecutorWhateverThreadAnswered) {
    // Kafka answers on a thread of its own; the spool completes on its writer thread.
    auto to_kafka = run(store(1), from_another_thread(deliver(true)));
    auto to_spool = run(store(2), from_another_thread(deliver(false)));
    auto refused = run(store(3), from_another_thread(fail_with(kafka::errc::msg_size_too_large)));
    ASSERT_TRUE(to_kafka && to_spool && refused);
    EXPECT_EQ(to_kafka->first, sink::kafka);
    EXPECT_EQ(to_spool->first, sink::spool);
    EXPECT_EQ(refused->first, sink::none);
    for (const auto& r : {*to_kafka, *to_spool, *refused}) {
        EXPECT_EQ(r.second, std::this_thread::get_id()) << to_string(r.first);
    }
}

}  // namespace
}  // namespace spillway::capture
