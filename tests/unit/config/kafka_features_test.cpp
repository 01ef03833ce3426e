// kafka.properties that need a librdkafka build feature (config/kafka_guard.hpp): each is named
// with its value and the missing feature; with the feature, or without such a property, nothing
// is said. And the librdkafka this build links has what docs/kafka-security.md's example needs.

#include "spillway/config/config.hpp"
#include "spillway/config/kafka_guard.hpp"

#include "unit/config/config_fixture.hpp"

#include <gtest/gtest.h>

namespace spillway::config {
namespace {

using namespace test_support;

constexpr std::string_view bare = "gzip,snappy,sasl,regex,sasl_plain,plugins";
constexpr std::string_view full =
    "gzip,snappy,ssl,sasl,regex,lz4,sasl_gssapi,sasl_plain,sasl_scram,plugins,zstd,"
    "sasl_oauthbearer";

std::string missing(const std::map<std::string, std::string>& properties,
                    std::string_view features = bare) {
    return missing_kafka_feature(properties, features).value_or("");
}

TEST(KafkaFeatures, EachPropertyIsNamedWithTheFeatureItNeeds) {
    EXPECT_NE(missing({{"security.protocol", "SASL_SSL"}})
                  .find("kafka.properties.security.protocol: \"SASL_SSL\" needs librdkafka's "
                        "\"ssl\" feature"),
              std::string::npos);
    EXPECT_NE(missing({{"security.protocol", "ssl"}}).find("\"ssl\" feature"), std::string::npos);
    EXPECT_NE(missing({{"sasl.mechanisms", "SCRAM-SHA-512"}})
                  .find("kafka.properties.sasl.mechanisms: \"SCRAM-SHA-512\" needs librdkafka's "
                        "\"sasl_scram\""),
              std::string::npos);
    EXPECT_NE(missing({{"sasl.mechanism", "GSSAPI"}}).find("kafka.properties.sasl.mechanism:"),
              std::string::npos);
    EXPECT_NE(missing({{"sasl.mechanisms", "OAUTHBEARER"}}).find("\"sasl_oauthbearer\""),
              std::string::npos);
    EXPECT_NE(missing({{"compression.codec", "zstd"}}).find("kafka.properties.compression.codec"),
              std::string::npos);
    EXPECT_NE(missing({{"compression.type", "LZ4"}}).find("\"lz4\" feature"), std::string::npos);
    EXPECT_NE(missing({{"security.protocol", "SASL_PLAINTEXT"}}, "ssl").find("\"sasl\" feature"),
              std::string::npos);
    EXPECT_NE(missing({{"sasl.mechanisms", "SCRAM-SHA-256"}})
                  .find("builtin.features: " + std::string(bare)),
              std::string::npos)
        << "the message shows what the library has";
}

TEST(KafkaFeatures, NothingIsSaidWhenTheFeatureIsThereOrNotNeeded) {
    const std::map<std::string, std::string> managed{{"security.protocol", "SASL_SSL"},
                                                     {"sasl.mechanisms", "SCRAM-SHA-512"},
                                                     {"compression.codec", "zstd"}};
    EXPECT_EQ(missing_kafka_feature(managed, full), std::nullopt);
    EXPECT_EQ(missing_kafka_feature({{"security.protocol", "plaintext"},
                                     {"sasl.mechanisms", "PLAIN"},
                                     {"compression.codec", "snappy"},
                                     {"linger.ms", "5"}},
                                    bare),
              std::nullopt);
    // A feature name inside another is not that feature ("sasl" is not "sasl_scram").
    EXPECT_NE(missing_kafka_feature({{"sasl.mechanisms", "SCRAM-SHA-256"}}, "sasl,sasl_plain"),
              std::nullopt);
}

// Debian's librdkafka has every feature: the documented SASL_SSL + SCRAM example parses.
TEST(KafkaFeatures, TheDocumentedSaslSslScramExampleParsesWithThisLibrdkafka) {
    const auto c = parse(R"({"kafka":{"properties":{"security.protocol":"SASL_SSL",
        "sasl.mechanisms":"SCRAM-SHA-512","sasl.username":"u","sasl.password":"p",
        "compression.codec":"zstd"}}})",
                         lookup);
    EXPECT_EQ(c.kafka.properties.at("security.protocol"), "SASL_SSL");
}

}  // namespace
}  // namespace spillway::config
