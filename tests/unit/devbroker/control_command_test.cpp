// The devbroker's control protocol, parsed without a cluster: every command, every kind of bad
// argument, unknown brokers and topics, hostile bytes echoed safely (docs/devbroker.md).

#include "spillway/devbroker/control_command.hpp"

#include <gtest/gtest.h>

#include <string>

namespace spillway::devbroker {
namespace {

const cluster_shape three_brokers{3, {{"failed-requests", 3}, {"failed-requests.dlq", 1}}};

template <class T>
T parse_as(std::string_view line, const cluster_shape& shape = three_brokers) {
    auto parsed = parse_control_command(line, shape);
    EXPECT_TRUE(parsed.command.has_value()) << line << ": " << parsed.error;
    EXPECT_TRUE(parsed.command && std::holds_alternative<T>(*parsed.command)) << line;
    if (!parsed.command || !std::holds_alternative<T>(*parsed.command)) {
        return T{};
    }
    return std::get<T>(*parsed.command);
}

// The reason a line is refused ("" when it was accepted: then the test fails).
std::string refusal(std::string_view line, const cluster_shape& shape = three_brokers) {
    auto parsed = parse_control_command(line, shape);
    EXPECT_FALSE(parsed.command.has_value()) << line;
    return parsed.error;
}

bool mentions(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(ControlCommand, DownAndUpTakeABrokerOrAll) {
    auto down = parse_as<set_broker_state>("down 2");
    EXPECT_EQ(down.broker, 2);
    EXPECT_FALSE(down.up);
    auto up = parse_as<set_broker_state>("up 3");
    EXPECT_EQ(up.broker, 3);
    EXPECT_TRUE(up.up);
    EXPECT_EQ(parse_as<set_broker_state>("down all").broker, all_brokers);
    EXPECT_EQ(parse_as<set_broker_state>("up all").broker, all_brokers);
}

TEST(ControlCommand, UnknownBrokersAreRefusedWithTheRange) {
    for (const auto* line : {"down 0", "down 4", "up 9", "down -1", "down +1", "down 1x",
                             "down 01a", "down 99999999999999", "down ALL", "down two"}) {
        EXPECT_TRUE(mentions(refusal(line), "unknown broker")) << line;
    }
    EXPECT_TRUE(mentions(refusal("down 4"), "1..3 or all"));
    EXPECT_TRUE(mentions(refusal("down 2", {1, {}}), "1..1"));
    EXPECT_TRUE(mentions(refusal("down"), "usage: down BROKER|all"));
    EXPECT_TRUE(mentions(refusal("up 1 2"), "usage: up BROKER|all"));
}

TEST(ControlCommand, LeaderNamesAKnownTopicPartitionAndBroker) {
    auto leader = parse_as<move_leader>("leader failed-requests 2 3");
    EXPECT_EQ(leader.topic, "failed-requests");
    EXPECT_EQ(leader.partition, 2);
    EXPECT_EQ(leader.broker, 3);
    EXPECT_EQ(parse_as<move_leader>("leader failed-requests.dlq 0 1").topic, "failed-requests.dlq");

    // The mock would create a topic it does not know: a typo must not.
    EXPECT_TRUE(mentions(refusal("leader failed-request 0 1"), "unknown topic"));
    EXPECT_TRUE(mentions(refusal("leader failed-request 0 1"), "failed-requests.dlq"));
    EXPECT_TRUE(mentions(refusal("leader failed-requests 3 1"), "partitions 0..2"));
    EXPECT_TRUE(mentions(refusal("leader failed-requests.dlq 1 1"), "partitions 0..0"));
    EXPECT_TRUE(mentions(refusal("leader failed-requests -1 1"), "bad partition"));
    EXPECT_TRUE(mentions(refusal("leader failed-requests 0 all"), "unknown broker"));
    EXPECT_TRUE(mentions(refusal("leader failed-requests 0 4"), "unknown broker"));
    EXPECT_TRUE(mentions(refusal("leader failed-requests 0"), "usage: leader"));
}

TEST(ControlCommand, RttTakesABrokerOrAllAndMillisecondsWithinBounds) {
    auto rtt = parse_as<set_rtt>("rtt 1 500");
    EXPECT_EQ(rtt.broker, 1);
    EXPECT_EQ(rtt.rtt_ms, 500);
    EXPECT_EQ(parse_as<set_rtt>("rtt all 0").broker, all_brokers);
    EXPECT_EQ(parse_as<set_rtt>("rtt 3 60000").rtt_ms, 60000);
    EXPECT_TRUE(mentions(refusal("rtt 1 60001"), "0..60000"));
    EXPECT_TRUE(mentions(refusal("rtt 1 -5"), "bad round-trip time"));
    EXPECT_TRUE(mentions(refusal("rtt 1 1.5"), "bad round-trip time"));
    EXPECT_TRUE(mentions(refusal("rtt 5 10"), "unknown broker"));
    EXPECT_TRUE(mentions(refusal("rtt 1"), "usage: rtt"));
}

TEST(ControlCommand, ErrorTakesAnApiByNameOrKeyACodeByNameOrNumberAndACount) {
    auto err = parse_as<push_errors>("error Produce NOT_ENOUGH_REPLICAS 3");
    EXPECT_EQ(err.api_key, 0);
    EXPECT_EQ(err.code, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    EXPECT_EQ(err.count, 3);

    EXPECT_EQ(parse_as<push_errors>("error produce REQUEST_TIMED_OUT 1").api_key, 0);
    EXPECT_EQ(parse_as<push_errors>("error FETCH NOT_LEADER_FOR_PARTITION 1").api_key, 1);
    EXPECT_EQ(parse_as<push_errors>("error 8 NOT_COORDINATOR 1").api_key, 8);
    EXPECT_EQ(parse_as<push_errors>("error OffsetCommit UNKNOWN_MEMBER_ID 1").code,
              RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID);
    EXPECT_EQ(parse_as<push_errors>("error InitProducerId 5 1").code,
              RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
    EXPECT_EQ(parse_as<push_errors>("error Heartbeat 19 10000").count, 10000);
    // Kafka's newer name for code 6, which librdkafka 2.0 does not know.
    EXPECT_EQ(parse_as<push_errors>("error Produce NOT_LEADER_OR_FOLLOWER 1").code,
              RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);

    const std::pair<const char*, const char*> apis[] = {
        {"Produce", "0"},          {"Fetch", "1"},        {"ListOffsets", "2"},
        {"Metadata", "3"},         {"OffsetCommit", "8"}, {"OffsetFetch", "9"},
        {"FindCoordinator", "10"}, {"JoinGroup", "11"},   {"Heartbeat", "12"},
        {"LeaveGroup", "13"},      {"SyncGroup", "14"},   {"InitProducerId", "22"}};
    for (const auto& [name, key] : apis) {
        EXPECT_EQ(parse_as<push_errors>(std::string("error ") + name + " 7 1").api_key,
                  std::stoi(key))
            << name;
        EXPECT_EQ(api_name(static_cast<std::int16_t>(std::stoi(key))), name);
    }
}

TEST(ControlCommand, ErrorRefusesUnknownApisClientSideCodesAndBadCounts) {
    EXPECT_TRUE(mentions(refusal("error Produc NOT_ENOUGH_REPLICAS 1"), "unknown API"));
    EXPECT_TRUE(mentions(refusal("error 100 NOT_ENOUGH_REPLICAS 1"), "unknown API"));
    EXPECT_TRUE(mentions(refusal("error -1 NOT_ENOUGH_REPLICAS 1"), "unknown API"));
    EXPECT_TRUE(mentions(refusal("error Produce NOT_A_CODE 1"), "unknown error code"));
    // librdkafka's own codes (negative) never travel on the wire.
    EXPECT_TRUE(mentions(refusal("error Produce _TRANSPORT 1"), "unknown error code"));
    EXPECT_TRUE(mentions(refusal("error Produce -195 1"), "unknown error code"));
    EXPECT_TRUE(mentions(refusal("error Produce 9999 1"), "unknown error code"));
    EXPECT_TRUE(mentions(refusal("error Produce NOT_ENOUGH_REPLICAS 0"), "1..10000"));
    EXPECT_TRUE(mentions(refusal("error Produce NOT_ENOUGH_REPLICAS 10001"), "bad count"));
    EXPECT_TRUE(mentions(refusal("error Produce NOT_ENOUGH_REPLICAS"), "usage: error"));
}

TEST(ControlCommand, ClearTakesAnApi) {
    EXPECT_EQ(parse_as<clear_errors>("clear Produce").api_key, 0);
    EXPECT_EQ(parse_as<clear_errors>("clear 9").api_key, 9);
    EXPECT_TRUE(mentions(refusal("clear Nothing"), "unknown API"));
    EXPECT_TRUE(mentions(refusal("clear"), "usage: clear API"));
}

TEST(ControlCommand, CoordinatorTakesAGroupAndABroker) {
    auto coordinator = parse_as<move_coordinator>("coordinator group spillway-replay 2");
    EXPECT_EQ(coordinator.group, "spillway-replay");
    EXPECT_EQ(coordinator.broker, 2);
    EXPECT_TRUE(mentions(refusal("coordinator transaction t 1"), "usage: coordinator group"));
    EXPECT_TRUE(mentions(refusal("coordinator group g all"), "unknown broker"));
    EXPECT_TRUE(mentions(refusal("coordinator group g"), "usage"));
    EXPECT_TRUE(
        mentions(refusal("coordinator group " + std::string(256, 'g') + " 1"), "bad group"));
    EXPECT_TRUE(mentions(refusal("coordinator group a\x01"
                                 "b 1"),
                         "bad group \"a\\x01b\""));
}

TEST(ControlCommand, StatusAndHelpTakeNoArguments) {
    parse_as<show_status>("status");
    parse_as<show_help>("help");
    EXPECT_TRUE(mentions(refusal("status now"), "no arguments"));
    EXPECT_EQ(help_answer(), "ok down up leader rtt error clear coordinator status help");
}

TEST(ControlCommand, WordsAreCaseSensitiveAndSpacesAndACarriageReturnAreTolerated) {
    EXPECT_TRUE(mentions(refusal("DOWN 1"), "unknown command \"DOWN\""));
    EXPECT_EQ(parse_as<set_broker_state>("  down   2  ").broker, 2);
    EXPECT_EQ(parse_as<set_broker_state>("down 2\r").broker, 2);
    EXPECT_TRUE(mentions(refusal(""), "empty command"));
    EXPECT_TRUE(mentions(refusal("   \r"), "empty command"));
    EXPECT_TRUE(mentions(refusal("down\t1"), "unknown command"));
}

TEST(ControlCommand, HostileBytesAreEchoedPrintableAndShort) {
    const auto why = refusal(std::string("\x1b[2J\"\\\xff") + std::string(200, 'x'));
    EXPECT_TRUE(mentions(why, "\\x1b[2J\\x22\\x5c\\xff")) << why;
    EXPECT_TRUE(mentions(why, "...")) << why;
    EXPECT_LT(why.size(), 160u) << why;
    EXPECT_EQ(why.find('\n'), std::string::npos);
    EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
}

}  // namespace
}  // namespace spillway::devbroker
