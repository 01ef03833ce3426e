// A group consumer built from handles.hpp (consumer_defaults, build_conf, make_client) receives
// what the producer wrote, on the devbroker: the path the replay consumer takes.

#include "spillway/kafka/handles.hpp"
#include "spillway/kafka/producer.hpp"

#include "support/devbroker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

namespace spillway::test {
namespace {

class count_callback final : public kafka::delivery_callback {
public:
    explicit count_callback(std::atomic<int>& ok) : ok_(ok) {}
    void on_delivery(const kafka::delivery_report& report) noexcept override {
        ok_ += report.ok() ? 1 : 0;
    }

private:
    std::atomic<int>& ok_;
};

TEST(GroupConsumer, SubscribesWithSpillwayDefaultsAndReceivesEveryRecord) {
    devbroker broker;
    config::kafka_config cfg;
    cfg.brokers = broker.bootstrap();
    std::atomic<int> acked{0};
    {
        auto producer = kafka::make_producer(cfg);
        for (int i = 0; i < 30; ++i) {
            kafka::record r{"failed-requests", "k" + std::to_string(i), "v" + std::to_string(i)};
            ASSERT_EQ(producer->produce(std::move(r), std::make_unique<count_callback>(acked)),
                      boost::system::error_code{});
        }
        producer->close(5s);
    }
    ASSERT_EQ(acked.load(), 30);

    auto conf = kafka::build_conf(cfg, kafka::consumer_defaults(cfg, "replay-test"));
    auto consumer = kafka::make_client(RD_KAFKA_CONSUMER, std::move(conf));
    rd_kafka_poll_set_consumer(consumer.get());
    kafka::partition_list_handle topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), "failed-requests", RD_KAFKA_PARTITION_UA);
    ASSERT_EQ(rd_kafka_subscribe(consumer.get(), topics.get()), RD_KAFKA_RESP_ERR_NO_ERROR);

    std::set<std::string> values;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (values.size() < 30 && std::chrono::steady_clock::now() < deadline) {
        kafka::message_handle msg(rd_kafka_consumer_poll(consumer.get(), 100));
        if (msg && msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            values.emplace(static_cast<const char*>(msg->payload), msg->len);
            // What the replay consumer does once a message is finished.
            ASSERT_EQ(rd_kafka_offset_store(msg->rkt, msg->partition, msg->offset),
                      RD_KAFKA_RESP_ERR_NO_ERROR);
        }
    }
    EXPECT_EQ(values.size(), 30u);
    EXPECT_EQ(rd_kafka_commit(consumer.get(), nullptr, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_consumer_close(consumer.get());
}

}  // namespace
}  // namespace spillway::test
