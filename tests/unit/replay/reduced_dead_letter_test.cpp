// The dead letter sent when the dead-letter topic refused the whole record for good: everything
// but the body, saying why and where the whole record is.

#include "spillway/replay/dead_letter.hpp"

#include "support/sample_envelope.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace spillway::replay {
namespace {

using json = nlohmann::json;

std::vector<std::string> headers_named(const kafka::record& r, const std::string& name) {
    std::vector<std::string> out;
    for (const auto& [n, v] : r.headers) {
        if (n == name) {
            out.push_back(v);
        }
    }
    return out;
}

TEST(ReducedDeadLetter, KeepsTheEnvelopeWithoutItsBodyAndSaysWhereTheWholeIs) {
    auto e = test::sample_envelope();
    e.body = std::string(4096, 'x');
    envelope::dlq_info info{"rejected with status 413", 413, 1, "2026-11-26T18:00:01.000Z"};
    const auto whole = dead_letter_envelope(e, info, {"failed-requests", 2, 41, "k"}, "dlq");

    const auto reduced = reduced_dead_letter(whole, "Broker: Message size too large");

    EXPECT_EQ(reduced.topic, "dlq");
    EXPECT_EQ(reduced.key, "k");
    EXPECT_EQ(headers_named(reduced, "spillway-id"), std::vector<std::string>{e.id});
    EXPECT_EQ(headers_named(reduced, "spillway-dlq-body-omitted"),
              std::vector<std::string>{"4096"});
    const auto parsed = envelope::parse_envelope(reduced.value);
    ASSERT_TRUE(std::holds_alternative<envelope::envelope>(parsed)) << reduced.value;
    const auto& got = std::get<envelope::envelope>(parsed);
    EXPECT_EQ(got.id, e.id);
    EXPECT_EQ(got.uri, e.uri);
    EXPECT_EQ(got.headers, e.headers);
    EXPECT_TRUE(got.body.empty());
    ASSERT_TRUE(got.dlq);
    EXPECT_EQ(got.dlq->last_status, std::optional<unsigned>(413));
    EXPECT_EQ(got.dlq->reason,
              "rejected with status 413; body left out (4096 bytes): the dead-letter topic "
              "refused the whole record (Broker: Message size too large); the whole record is at "
              "failed-requests/2/41");
    const auto reasons = headers_named(reduced, "spillway-dlq-reason");
    ASSERT_EQ(reasons.size(), 1u) << "the reason header is replaced, not repeated";
    EXPECT_EQ(reasons[0], got.dlq->reason);
}

TEST(ReducedDeadLetter, ARawRecordLosesItsRawValueOnly) {
    envelope::dlq_info info{"invalid envelope: not JSON", std::nullopt, 0, "t"};
    const auto whole =
        dead_letter_raw(std::string(1000, '\x01'), info, {"failed-requests", 0, 7, ""}, "dlq");

    const auto reduced = reduced_dead_letter(whole, "too large");

    const auto value = json::parse(reduced.value);
    EXPECT_EQ(value["raw"], "");
    EXPECT_EQ(value["raw_encoding"], "utf8");
    EXPECT_NE(value["dlq"]["reason"].get<std::string>().find("failed-requests/0/7"),
              std::string::npos);
}

TEST(MessageId, OnlyAStringIdOfAJsonObject) {
    EXPECT_EQ(message_id(R"({"id":"abc","x":1})"), "abc");
    EXPECT_EQ(message_id(R"({"id":5})"), "");
    EXPECT_EQ(message_id("not json"), "");
    EXPECT_EQ(message_id(R"(["id"])"), "");
}

}  // namespace
}  // namespace spillway::replay
