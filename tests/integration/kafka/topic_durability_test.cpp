// At start the proxy asks the broker how the capture topic is replicated (kafka/topic_durability)
// and warns when a broker loss could lose queued requests; a broker that is down never delays
// start-up. The devbroker is librdkafka's mock cluster with one broker: its topics have one
// replica, and it does not answer DescribeConfigs, so min.insync.replicas stays unknown there
// (what a real cluster answers is covered by the unit test of the verdict).

#include "support/devbroker.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

#include <iostream>

namespace spillway::test {
namespace {

const std::map<std::string, std::string> topic_label{{"topic", "failed-requests"}};

TEST(TopicDurability, TheDevbrokersSingleReplicaTopicIsWarnedAboutWithBothNumbers) {
    devbroker broker;
    spillway_proxy p({dead_backend_url(), broker.bootstrap(), {}, {}});
    ASSERT_TRUE(p.wait_for_metric("spillway_kafka_topic_replication_factor", topic_label, 1, 20s));
    EXPECT_EQ(p.metric("spillway_kafka_topic_durability_ok", topic_label), 0.0);
    EXPECT_TRUE(
        p.proc().wait_for_output("kafka topic failed-requests: replication factor 1, "
                                 "min.insync.replicas ",
                                 5s))
        << p.proc().stderr_text();
    const auto log = p.proc().stderr_text() + p.proc().stdout_text();
    EXPECT_NE(log.find("may not survive the loss of a broker"), std::string::npos) << log;
    EXPECT_NE(log.find("expected with a single broker"), std::string::npos) << log;
    // What the mock answers for min.insync.replicas, recorded rather than assumed: a number
    // (then exported) or "unknown (<why>)" (then not).
    const bool known = log.find("min.insync.replicas unknown") == std::string::npos;
    EXPECT_EQ(p.metric("spillway_kafka_topic_min_insync_replicas", topic_label).has_value(), known)
        << log;
    if (const auto at = log.find("kafka topic failed-requests:"); at != std::string::npos) {
        std::cout << "devbroker: " << log.substr(at, log.find('\n', at) - at) << "\n";
    }
}

TEST(TopicDurability, ABrokerThatIsDownNeitherDelaysStartUpNorShutdown) {
    spillway_proxy p(dead_backend_url());  // Kafka at a port where nothing listens
    // The fixture returned once both listeners accept: start-up did not wait for the broker.
    const auto health = fetch(p.port(), "GET", "/health");
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(p.metric("spillway_kafka_topic_durability_ok", topic_label), std::nullopt)
        << "nothing is known until the broker answers";
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(p.terminate(10s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

}  // namespace
}  // namespace spillway::test
