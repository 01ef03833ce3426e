// The idempotent producer against spillway-devbroker (the real Kafka protocol), read back with
// kcat: records arrive intact, every delivery callback fires exactly once, an outage fails
// records within kafka.delivery_timeout_ms, close() fails what is left.

#include "spillway/kafka/producer.hpp"

#include "support/devbroker.hpp"
#include "support/kcat.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include <poll.h>

namespace spillway::test {
namespace {

using clock = std::chrono::steady_clock;

// Collects delivery reports by record id and lets a test wait for a number of them.
class report_log {
public:
    void add(int id, const kafka::delivery_report& report) {
        std::lock_guard lock(mutex_);
        reports_.emplace(id, report);
        calls_[id] += 1;
        cv_.notify_all();
    }
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return reports_.size() >= count; });
    }
    std::multimap<int, kafka::delivery_report> reports() const {
        std::lock_guard lock(mutex_);
        return reports_;
    }
    std::map<int, int> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return reports_.size();
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::multimap<int, kafka::delivery_report> reports_;
    std::map<int, int> calls_;
};

class logging_callback final : public kafka::delivery_callback {
public:
    logging_callback(report_log& log, int id) : log_(log), id_(id) {}
    void on_delivery(const kafka::delivery_report& report) noexcept override {
        log_.add(id_, report);
    }

private:
    report_log& log_;
    int id_;
};

kafka::record make_record(const std::string& topic, int id) {
    kafka::record r;
    r.topic = topic;
    r.key = "key-" + std::to_string(id);
    r.value = "value-" + std::to_string(id);
    r.headers = {{"spillway-id", "id-" + std::to_string(id)}, {"spillway-failure", "timeout"}};
    return r;
}

config::kafka_config kafka_config_for(const devbroker& broker, std::chrono::milliseconds timeout) {
    config::kafka_config cfg;
    cfg.brokers = broker.bootstrap();
    cfg.topic = broker.options().topic;
    cfg.delivery_timeout = timeout;
    return cfg;
}

TEST(Producer, RecordsArriveWithKeyValueAndHeadersAndEachCallbackFiresOnce) {
    devbroker broker;
    auto producer = kafka::make_producer(kafka_config_for(broker, 5s));
    report_log log;
    constexpr int count = 50;
    for (int id = 0; id < count; ++id) {
        ASSERT_EQ(producer->produce(make_record("failed-requests", id),
                                    std::make_unique<logging_callback>(log, id)),
                  boost::system::error_code{});
    }
    ASSERT_TRUE(log.wait_for(count, 10s)) << log.size() << " reports";
    producer->close(5s);

    const auto reports = log.reports();
    for (const auto& [id, calls] : log.calls()) {
        EXPECT_EQ(calls, 1) << "record " << id;
    }
    auto messages = kcat::consume_all(broker.bootstrap(), "failed-requests");
    ASSERT_EQ(messages.size(), static_cast<std::size_t>(count));
    for (const auto& m : messages) {
        ASSERT_TRUE(m.key.has_value());
        const int id = std::stoi(m.key->substr(4));
        EXPECT_EQ(m.value, "value-" + std::to_string(id));
        EXPECT_EQ(m.header("spillway-id"), "id-" + std::to_string(id));
        EXPECT_EQ(m.header("spillway-failure"), "timeout");
        const auto& report = reports.find(id)->second;
        EXPECT_TRUE(report.ok()) << report.error.message();
        EXPECT_EQ(report.partition, m.partition);
        EXPECT_EQ(report.offset, m.offset);
    }
}

// An event loop can take the reports over (the proxy's report_pump): they are then served only
// when it asks, on its thread, after the descriptor said so; given back, the producer's own
// thread serves them again.
TEST(Producer, ReportsTakenOverAreServedOnlyByTheTakerUntilGivenBack) {
    devbroker broker;
    auto producer = kafka::make_producer(kafka_config_for(broker, 5s));
    const int fd = producer->take_over_reports();
    ASSERT_GE(fd, 0);
    report_log log;
    ASSERT_EQ(producer->produce(make_record("failed-requests", 0),
                                std::make_unique<logging_callback>(log, 0)),
              boost::system::error_code{});
    // Delivered by the broker, but nobody served the report: the callback has not run.
    ASSERT_TRUE(wait_until(
        [&] { return kcat::total_end_offset(broker.bootstrap(), "failed-requests") >= 1; }, 10s));
    EXPECT_EQ(log.size(), 0u);
    const auto deadline = clock::now() + 10s;
    while (log.size() == 0 && clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) == 1) {
            producer->serve_reports();
        }
    }
    ASSERT_EQ(log.size(), 1u) << "the descriptor never woke the taker";
    EXPECT_TRUE(log.reports().begin()->second.ok());

    producer->give_back_reports();
    ASSERT_EQ(producer->produce(make_record("failed-requests", 1),
                                std::make_unique<logging_callback>(log, 1)),
              boost::system::error_code{});
    EXPECT_TRUE(log.wait_for(2, 10s)) << "the poll thread did not take the reports back";
    producer->close(5s);
}

TEST(Producer, ReportsConnectedWhileTheBrokerIsUp) {
    devbroker broker;
    auto producer = kafka::make_producer(kafka_config_for(broker, 5s));
    EXPECT_TRUE(wait_until([&] { return producer->connected(); }, 5s));
    ASSERT_TRUE(broker.down());
    EXPECT_TRUE(wait_until([&] { return !producer->connected(); }, 5s));
    ASSERT_TRUE(broker.up());
    EXPECT_TRUE(wait_until([&] { return producer->connected(); }, 15s));
}

TEST(Producer, BrokerDownFailsTheRecordWithinTheDeliveryTimeout) {
    devbroker broker;
    constexpr auto timeout = 1000ms;
    auto producer = kafka::make_producer(kafka_config_for(broker, timeout));
    report_log log;
    ASSERT_EQ(producer->produce(make_record("failed-requests", 0),
                                std::make_unique<logging_callback>(log, 0)),
              boost::system::error_code{});
    ASSERT_TRUE(log.wait_for(1, 10s));
    ASSERT_TRUE(broker.down());

    const auto start = clock::now();
    ASSERT_EQ(producer->produce(make_record("failed-requests", 1),
                                std::make_unique<logging_callback>(log, 1)),
              boost::system::error_code{});
    ASSERT_TRUE(log.wait_for(2, 10s));
    const auto elapsed = clock::now() - start;
    const auto report = log.reports().find(1)->second;
    EXPECT_FALSE(report.ok());
    EXPECT_EQ(report.error, kafka::errc::msg_timed_out) << report.error.message();
    EXPECT_FALSE(report.possibly_persisted);  // it never left the producer's queue
    // librdkafka scans for timed-out messages every few hundred milliseconds.
    EXPECT_LT(elapsed, timeout + 1500ms);
    EXPECT_GE(elapsed, timeout - 100ms);
}

TEST(Producer, CloseFiresEveryOutstandingCallbackWithAnError) {
    devbroker broker;
    auto producer = kafka::make_producer(kafka_config_for(broker, 60s));
    report_log log;
    ASSERT_TRUE(broker.down());
    constexpr int count = 100;
    for (int id = 0; id < count; ++id) {
        ASSERT_EQ(producer->produce(make_record("failed-requests", id),
                                    std::make_unique<logging_callback>(log, id)),
                  boost::system::error_code{});
    }
    const auto start = clock::now();
    producer->close(200ms);
    EXPECT_LT(clock::now() - start, 3s);
    ASSERT_EQ(log.size(), static_cast<std::size_t>(count));  // all fired before close returned
    for (const auto& [id, report] : log.reports()) {
        EXPECT_FALSE(report.ok()) << "record " << id;
    }
    for (const auto& [id, calls] : log.calls()) {
        EXPECT_EQ(calls, 1) << "record " << id;
    }
    producer->close(200ms);  // idempotent
    EXPECT_EQ(log.size(), static_cast<std::size_t>(count));
}

TEST(Producer, CloseWaitsForRecordsTheBrokerWillConfirm) {
    devbroker broker;
    auto producer = kafka::make_producer(kafka_config_for(broker, 5s));
    report_log log;
    constexpr int count = 200;
    for (int id = 0; id < count; ++id) {
        ASSERT_EQ(producer->produce(make_record("failed-requests", id),
                                    std::make_unique<logging_callback>(log, id)),
                  boost::system::error_code{});
    }
    producer->close(5s);
    ASSERT_EQ(log.size(), static_cast<std::size_t>(count));
    for (const auto& [id, report] : log.reports()) {
        EXPECT_TRUE(report.ok()) << "record " << id << ": " << report.error.message();
    }
    EXPECT_EQ(kcat::total_end_offset(broker.bootstrap(), "failed-requests"), count);
}

class destruction_flag final : public kafka::delivery_callback {
public:
    destruction_flag(bool& destroyed, bool& called) : destroyed_(destroyed), called_(called) {}
    ~destruction_flag() override { destroyed_ = true; }
    void on_delivery(const kafka::delivery_report&) noexcept override { called_ = true; }

private:
    bool& destroyed_;
    bool& called_;
};

TEST(Producer, ProduceAfterCloseIsRefusedAndTheCallbackNeverFires) {
    devbroker broker;
    auto producer = kafka::make_producer(kafka_config_for(broker, 5s));
    producer->close(1s);
    bool destroyed = false;
    bool called = false;
    EXPECT_EQ(producer->produce(make_record("failed-requests", 0),
                                std::make_unique<destruction_flag>(destroyed, called)),
              kafka::errc::destroy);
    EXPECT_TRUE(destroyed);
    EXPECT_FALSE(called);
}

TEST(Producer, AFullQueueIsRefusedAtOnceInsteadOfBlocking) {
    devbroker broker;
    auto cfg = kafka_config_for(broker, 30s);
    cfg.properties["queue.buffering.max.messages"] = "10";
    auto producer = kafka::make_producer(cfg);
    ASSERT_TRUE(broker.down());
    report_log log;
    int accepted = 0;
    int refused = 0;
    const auto start = clock::now();
    for (int id = 0; id < 20; ++id) {
        const auto err = producer->produce(make_record("failed-requests", id),
                                           std::make_unique<logging_callback>(log, id));
        (err ? refused : accepted) += 1;
        if (err) {
            EXPECT_EQ(err, kafka::errc::queue_full);
        }
    }
    EXPECT_LT(clock::now() - start, 500ms);
    EXPECT_EQ(accepted, 10);
    EXPECT_EQ(refused, 10);
    producer->close(0ms);
    EXPECT_EQ(log.size(), 10u);
}

}  // namespace
}  // namespace spillway::test
