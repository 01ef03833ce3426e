// kafka.properties may not void the promise (config/kafka_guard.hpp): each refused key is named,
// with the value and why; what keeps the promise, and everything else, passes.

#include "spillway/config/config.hpp"

#include "unit/config/config_fixture.hpp"

#include <gtest/gtest.h>

namespace spillway::config {
namespace {

using namespace test_support;

class KafkaGuardTest : public ConfigFixture {
protected:
    std::string refusal(const std::string& key, const std::string& value) {
        return error_of(R"({"kafka":{"properties":{")" + key + R"(":")" + value + R"("}}})");
    }
    bool accepted(const std::string& key, const std::string& value) {
        const auto doc = R"({"kafka":{"properties":{")" + key + R"(":")" + value + R"("}}})";
        return parse(doc, lookup).kafka.properties.at(key) == value;
    }
};

void expect_refused(const std::string& error, const std::string& key, const std::string& value) {
    EXPECT_EQ(error.rfind("kafka.properties." + key + ": \"" + value + "\" refused: ", 0), 0u)
        << error;
}

TEST_F(KafkaGuardTest, AcksOtherThanAllAreRefused) {
    for (const std::string key : {"acks", "request.required.acks"}) {
        for (const std::string value : {"0", "1", "2", "", "ALL"}) {
            expect_refused(refusal(key, value), key, value);
        }
        EXPECT_TRUE(accepted(key, "all"));
        EXPECT_TRUE(accepted(key, "-1"));
    }
}

TEST_F(KafkaGuardTest, IdempotenceMustStayOn) {
    expect_refused(refusal("enable.idempotence", "false"), "enable.idempotence", "false");
    expect_refused(refusal("enable.idempotence", "0"), "enable.idempotence", "0");
    EXPECT_TRUE(accepted("enable.idempotence", "true"));
}

TEST_F(KafkaGuardTest, MessageTimeoutsAreSetWithDeliveryTimeoutMsOnly) {
    for (const std::string key : {"message.timeout.ms", "delivery.timeout.ms"}) {
        for (const std::string value : {"0", "5000", "300000"}) {
            const auto error = refusal(key, value);
            expect_refused(error, key, value);
            EXPECT_NE(error.find("kafka.delivery_timeout_ms"), std::string::npos) << error;
        }
    }
}

TEST_F(KafkaGuardTest, TheConsumerKeepsItsOffsetsToItself) {
    for (const std::string key : {"enable.auto.commit", "enable.auto.offset.store"}) {
        expect_refused(refusal(key, "true"), key, "true");
        EXPECT_TRUE(accepted(key, "false"));
    }
    for (const std::string value : {"latest", "largest", "end", "error", "none"}) {
        expect_refused(refusal("auto.offset.reset", value), "auto.offset.reset", value);
    }
    for (const std::string value : {"earliest", "smallest", "beginning"}) {
        EXPECT_TRUE(accepted("auto.offset.reset", value));
    }
}

TEST_F(KafkaGuardTest, EverythingElsePassesAsIs) {
    EXPECT_TRUE(accepted("compression.type", "zstd"));
    EXPECT_TRUE(accepted("security.protocol", "SASL_SSL"));
    EXPECT_TRUE(accepted("message.max.bytes", "2000000"));
}

}  // namespace
}  // namespace spillway::config
