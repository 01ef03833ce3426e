// The verdict on the capture topic's replication, and what the log line tells the operator.

#include "spillway/kafka/topic_durability.hpp"

#include <gtest/gtest.h>

namespace spillway::kafka {
namespace {

topic_durability of(int rf, std::optional<int> min_isr) {
    topic_durability d;
    d.replication_factor = rf;
    d.min_insync_replicas = min_isr;
    if (!min_isr) {
        d.min_insync_error = "Broker: Unsupported version";
    }
    return d;
}

TEST(TopicDurability, SurvivesABrokerLossOnlyWithThreeReplicasAndTwoInSync) {
    EXPECT_TRUE(survives_broker_loss(of(3, 2)));
    EXPECT_TRUE(survives_broker_loss(of(5, 3)));
    EXPECT_FALSE(survives_broker_loss(of(3, 1)));  // an ack may rest on one broker
    EXPECT_FALSE(survives_broker_loss(of(2, 2)));  // one broker down: no write is acked
    EXPECT_FALSE(survives_broker_loss(of(1, 1)));
    EXPECT_FALSE(survives_broker_loss(of(3, std::nullopt)));  // not known is not enough
}

TEST(TopicDurability, TheLogLineNamesBothNumbersAndWhatToDo) {
    const auto bad = describe_durability("failed-requests", of(1, 1));
    EXPECT_EQ(bad.rfind("kafka topic failed-requests: replication factor 1, "
                        "min.insync.replicas 1: a queued request may not survive",
                        0),
              0u)
        << bad;
    EXPECT_NE(bad.find("min.insync.replicas=2"), std::string::npos) << bad;
    EXPECT_NE(bad.find("single broker"), std::string::npos) << bad;

    const auto unknown = describe_durability("t", of(3, std::nullopt));
    EXPECT_NE(unknown.find("min.insync.replicas unknown (Broker: Unsupported version)"),
              std::string::npos)
        << unknown;
    EXPECT_EQ(unknown.find("single broker"), std::string::npos) << unknown;

    const auto good = describe_durability("t", of(3, 2));
    EXPECT_NE(good.find("survives the loss of a broker"), std::string::npos) << good;
}

}  // namespace
}  // namespace spillway::kafka
