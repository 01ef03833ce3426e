// The drainer against spillway-devbroker (the real Kafka protocol, the real idempotent producer),
// read back with kcat: every spooled record arrives once, in order, byte for byte; during an
// outage nothing is deleted, and after it everything arrives exactly once.

#include "spillway/kafka/producer.hpp"
#include "spillway/spool/drainer.hpp"
#include "spillway/spool/spool.hpp"

#include "support/devbroker.hpp"
#include "support/kcat.hpp"
#include "unit/spool/spool_fixtures.hpp"

#include <gtest/gtest.h>

#include <map>

namespace spillway::spool {
namespace {

using namespace std::chrono_literals;
using testing::append_all_and_wait;
using testing::eventually;
using testing::make_record;

config::kafka_config kafka_config_for(const test::devbroker& broker,
                                      std::chrono::milliseconds delivery_timeout) {
    config::kafka_config cfg;
    cfg.brokers = broker.bootstrap();
    cfg.topic = broker.options().topic;
    cfg.delivery_timeout = delivery_timeout;
    return cfg;
}

test::devbroker one_partition_broker() {
    test::devbroker_options o;
    o.partitions = 1;  // one partition: the topic's offsets show the drain order
    return test::devbroker(o);
}

// Keys in offset order, and how often each appears.
std::vector<std::string> keys_in_offset_order(const std::vector<test::kcat::message>& messages) {
    std::map<std::int64_t, std::string> by_offset;
    for (const auto& m : messages) {
        by_offset[m.offset] = m.key.value_or("(null)");
    }
    std::vector<std::string> out;
    for (auto& [offset, key] : by_offset) {
        out.push_back(std::move(key));
    }
    return out;
}

std::vector<std::string> expected_keys(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        out.push_back("key-" + std::to_string(i));
    }
    return out;
}

TEST(DrainerDevbroker, DrainsEverySpooledRecordInOrderByteForByte) {
    constexpr int count = 300;
    auto broker = one_partition_broker();
    testing::temp_dir dir;
    spool s(dir.config());
    ASSERT_FALSE(append_all_and_wait(s, 0, count, 700));
    auto producer = kafka::make_producer(kafka_config_for(broker, 10s));
    drainer d(s, *producer);
    d.start();
    ASSERT_TRUE(eventually([&] { return s.records() == 0; }, 30s)) << s.records() << " left";
    d.stop(5s);
    producer->close(5s);
    EXPECT_EQ(s.bytes(), 0u);
    EXPECT_EQ(d.delivered(), static_cast<std::uint64_t>(count));

    const auto messages = test::kcat::consume_all(broker.bootstrap(), broker.options().topic);
    ASSERT_EQ(messages.size(), static_cast<std::size_t>(count));
    EXPECT_EQ(keys_in_offset_order(messages), expected_keys(count));
    for (const auto& m : messages) {
        const int i = std::stoi(m.key.value().substr(4));
        const auto want = make_record(i, 700);
        EXPECT_EQ(m.value, want.value) << "record " << i;
        EXPECT_EQ(m.header("spillway-id"), want.headers[0].second);
    }
}

TEST(DrainerDevbroker, OutageKeepsRecordsSpooledThenDeliversEachOnce) {
    constexpr int count = 100;
    auto broker = one_partition_broker();
    testing::temp_dir dir;
    spool s(dir.config());
    auto producer = kafka::make_producer(kafka_config_for(broker, 1500ms));
    drainer_options o;
    o.backoff_initial = 100ms;
    o.backoff_max = 500ms;
    drainer d(s, *producer, o);
    ASSERT_TRUE(broker.down());
    d.start();
    ASSERT_FALSE(append_all_and_wait(s, 0, count, 300));
    // Kafka is down: deliveries fail, nothing leaves the spool.
    ASSERT_TRUE(eventually([&] { return d.failed() >= count; }, 30s)) << d.failed();
    EXPECT_EQ(s.records(), static_cast<std::uint64_t>(count));
    EXPECT_EQ(d.delivered(), 0u);

    ASSERT_TRUE(broker.up());
    ASSERT_TRUE(eventually([&] { return s.records() == 0; }, 60s)) << s.records() << " left";
    d.stop(5s);
    producer->close(5s);

    const auto messages = test::kcat::consume_all(broker.bootstrap(), broker.options().topic);
    EXPECT_EQ(keys_in_offset_order(messages), expected_keys(count));
}

}  // namespace
}  // namespace spillway::spool
