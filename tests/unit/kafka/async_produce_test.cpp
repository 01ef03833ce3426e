// kafka::async_produce against a producer the test drives: exactly one completion in each case
// (delivered, failed, refused at once, dropped unfired), always posted to the handler's
// executor, and counted as outstanding work there until it runs.

#include "spillway/kafka/async_produce.hpp"

#include "unit/spool/spool_fixtures.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <thread>

namespace spillway::kafka {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using spool::testing::fake_producer;
using spool::testing::make_record;

// What the completion handler saw.
struct completion {
    int calls = 0;
    boost::system::error_code ec;
    boost::system::error_code report_error;
    bool on_loop_thread = false;
};

class AsyncProduceTest : public ::testing::Test {
protected:
    // Starts one async_produce whose handler is bound to the test's io_context.
    void start(completion& c) {
        async_produce(*producer_, record_,
                      net::bind_executor(
                          ioc_, [this, &c](boost::system::error_code ec, delivery_report report) {
                              ++c.calls;
                              c.ec = ec;
                              c.report_error = report.error;
                              c.on_loop_thread = ioc_.get_executor().running_in_this_thread();
                          }));
    }

    net::io_context ioc_;
    std::optional<fake_producer> producer_{std::in_place};
    record record_ = make_record(1);
};

TEST_F(AsyncProduceTest, ADeliveredRecordCompletesOnceWithoutError) {
    completion c;
    start(c);
    ASSERT_EQ(producer_->pending(), 1u);
    producer_->finish(1, true);
    EXPECT_EQ(c.calls, 0) << "completed inline, on the report's thread";
    ioc_.run_for(5s);
    EXPECT_EQ(c.calls, 1);
    EXPECT_FALSE(c.ec);
    EXPECT_TRUE(c.on_loop_thread);
}

TEST_F(AsyncProduceTest, AFailedReportCompletesOnceWithTheKafkaError) {
    completion c;
    start(c);
    producer_->finish(1, false);
    ioc_.run_for(5s);
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(c.ec, errc::msg_timed_out);
    EXPECT_EQ(c.ec.category().name(), std::string("kafka"));
    EXPECT_EQ(c.ec.message(), "Local: Message timed out");
    EXPECT_EQ(c.report_error, c.ec);
}

TEST_F(AsyncProduceTest, ARecordRefusedAtOnceCompletesOnceLaterWithProducesError) {
    producer_->refuse_next(1, errc::queue_full);
    completion c;
    start(c);
    EXPECT_EQ(c.calls, 0) << "a refusal must not re-enter the caller";
    ioc_.run_for(5s);
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(c.ec, errc::queue_full);
    EXPECT_EQ(c.report_error, errc::queue_full);
    EXPECT_TRUE(c.on_loop_thread);
}

TEST_F(AsyncProduceTest, ACallbackDroppedUnfiredCompletesOnceWithDestroy) {
    completion c;
    start(c);
    producer_.reset();  // the fake drops what is pending without calling it
    ioc_.run_for(5s);
    EXPECT_EQ(c.calls, 1);
    EXPECT_EQ(c.ec, errc::destroy);
}

TEST_F(AsyncProduceTest, APurgeAtCloseCompletesOnceWithAnError) {
    completion c;
    start(c);
    producer_->close(0ms);  // the fake fails what is pending, as close() does once it purged
    ioc_.run_for(5s);
    EXPECT_EQ(c.calls, 1);
    EXPECT_TRUE(c.ec);
}

TEST_F(AsyncProduceTest, APendingRecordKeepsTheLoopFromRunningOutOfWork) {
    completion c;
    start(c);
    ioc_.poll();
    EXPECT_FALSE(ioc_.stopped()) << "the loop ran out of work with a record pending";
    std::thread report([this] { producer_->finish(1, true); });
    ioc_.run_for(5s);  // returns once the completion ran: no work is left after it
    report.join();
    EXPECT_EQ(c.calls, 1);
    EXPECT_TRUE(ioc_.stopped());
}

TEST_F(AsyncProduceTest, ACoroutineResumesOnItsOwnExecutorWhenTheReportComesFromAnotherThread) {
    std::optional<std::thread::id> resumed_on;
    boost::system::error_code result = errc::queue_full;
    net::co_spawn(
        ioc_,
        [&]() -> net::awaitable<void> {
            auto [ec, report] =
                co_await async_produce(*producer_, record_, net::as_tuple(net::use_awaitable));
            result = ec;
            resumed_on = std::this_thread::get_id();
        },
        net::detached);
    ioc_.poll();
    ASSERT_EQ(producer_->pending(), 1u);
    std::thread report([this] { producer_->finish(1, true); });
    report.join();
    ioc_.run_for(5s);
    ASSERT_TRUE(resumed_on.has_value());
    EXPECT_EQ(*resumed_on, std::this_thread::get_id());
    EXPECT_FALSE(result);
}

TEST(KafkaErrors, PermanentErrorsAreTheRecordsOwnAndOnlyInTheKafkaCategory) {
    EXPECT_TRUE(is_permanent_error(errc::msg_size_too_large));
    EXPECT_FALSE(is_permanent_error(errc::msg_timed_out));
    EXPECT_FALSE(is_permanent_error(errc::queue_full));
    EXPECT_FALSE(is_permanent_error({}));
    EXPECT_FALSE(
        is_permanent_error(boost::system::error_code(10, boost::system::generic_category())));
    EXPECT_FALSE(make_error_code(errc::no_error)) << "no_error is the empty code";
}

}  // namespace
}  // namespace spillway::kafka
