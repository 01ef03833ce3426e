// The configuration builder: Spillway's defaults, kafka.properties on top, errors that name the
// property. No broker needed: librdkafka validates properties locally.

#include "spillway/kafka/handles.hpp"

#include "spillway/kafka/producer.hpp"

#include <gtest/gtest.h>

namespace spillway::kafka {
namespace {

std::string get(rd_kafka_conf_t* conf, const char* name) {
    char value[512];
    std::size_t size = sizeof value;
    if (rd_kafka_conf_get(conf, name, value, &size) != RD_KAFKA_CONF_OK) {
        return "<unknown>";
    }
    return value;
}

std::string error_of(const config::kafka_config& cfg) {
    try {
        make_producer(cfg);
    } catch (const config::config_error& e) {
        return e.what();
    }
    return "";
}

TEST(KafkaConf, AppliesSpillwayProducerDefaults) {
    config::kafka_config cfg;
    cfg.brokers = "127.0.0.1:1";
    cfg.delivery_timeout = std::chrono::milliseconds(1234);
    auto conf = build_conf(cfg, producer_defaults(cfg));
    EXPECT_EQ(get(conf.get(), "bootstrap.servers"), "127.0.0.1:1");
    EXPECT_EQ(get(conf.get(), "enable.idempotence"), "true");
    EXPECT_EQ(get(conf.get(), "acks"), "-1");  // "all"
    EXPECT_EQ(get(conf.get(), "message.timeout.ms"), "1234");
    EXPECT_EQ(get(conf.get(), "socket.nagle.disable"), "true");
}

TEST(KafkaConf, PropertiesOverrideTheDefaults) {
    config::kafka_config cfg;
    cfg.properties = {{"linger.ms", "7"}, {"compression.type", "lz4"}};
    auto conf = build_conf(cfg, producer_defaults(cfg));
    EXPECT_EQ(get(conf.get(), "linger.ms"), "7");
    EXPECT_EQ(get(conf.get(), "compression.type"), "lz4");
}

TEST(KafkaConf, ConsumerDefaultsCarryTheGroup) {
    config::kafka_config cfg;
    auto conf = build_conf(cfg, consumer_defaults(cfg, "replayers"));
    EXPECT_EQ(get(conf.get(), "group.id"), "replayers");
    EXPECT_EQ(get(conf.get(), "enable.auto.offset.store"), "false");
    EXPECT_EQ(get(conf.get(), "auto.offset.reset"), "smallest");  // librdkafka's name for it
}

TEST(KafkaConf, AnUnknownPropertyIsNamed) {
    config::kafka_config cfg;
    cfg.properties = {{"no.such.property", "1"}};
    const auto what = error_of(cfg);
    EXPECT_TRUE(what.starts_with("kafka.properties.no.such.property: ")) << what;
}

TEST(KafkaConf, AnInvalidValueIsNamed) {
    config::kafka_config cfg;
    cfg.properties = {{"linger.ms", "soon"}};
    const auto what = error_of(cfg);
    EXPECT_TRUE(what.starts_with("kafka.properties.linger.ms: ")) << what;
}

TEST(KafkaConf, AConflictingCombinationIsAConfigurationError) {
    config::kafka_config cfg;
    cfg.properties = {{"acks", "1"}};  // idempotence needs acks=all
    const auto what = error_of(cfg);
    EXPECT_TRUE(what.starts_with("kafka.properties: ")) << what;
    EXPECT_NE(what.find("acks"), std::string::npos) << what;
}

TEST(KafkaHandles, OwnTheirObjects) {
    partition_list_handle list(rd_kafka_topic_partition_list_new(2));
    rd_kafka_topic_partition_list_add(list.get(), "t", 0);
    headers_handle headers(rd_kafka_headers_new(1));
    rd_kafka_header_add(headers.get(), "a", -1, "b", -1);
    EXPECT_EQ(list->cnt, 1);
    EXPECT_EQ(rd_kafka_header_cnt(headers.get()), 1u);
}

}  // namespace
}  // namespace spillway::kafka
