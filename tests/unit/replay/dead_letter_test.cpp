#include "spillway/replay/dead_letter.hpp"

#include "support/sample_envelope.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace spillway::replay {
namespace {

using json = nlohmann::json;

envelope::envelope sample() {
    return test::sample_envelope();
}

std::string header(const kafka::record& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
        if (n == name) {
            return v;
        }
    }
    return "";
}

TEST(DeadLetter, EnvelopeCarriesTheDlqObject) {
    envelope::dlq_info info{"rejected with status 404", 404, 1, "2026-11-26T18:00:01.000Z"};
    auto r = dead_letter_envelope(sample(), info, {"failed-requests", 2, 41, "k"}, "dlq");
    EXPECT_EQ(r.topic, "dlq");
    EXPECT_EQ(r.key, "k");
    EXPECT_EQ(header(r, "spillway-id"), sample().id);
    EXPECT_EQ(header(r, "spillway-source"), "failed-requests/2/41");
    auto parsed = envelope::parse_envelope(r.value);
    ASSERT_TRUE(std::holds_alternative<envelope::envelope>(parsed))
        << std::get<envelope::parse_error>(parsed).reason << "\n"
        << r.value;
    const auto& e = std::get<envelope::envelope>(parsed);
    ASSERT_TRUE(e.dlq.has_value());
    EXPECT_EQ(e.dlq->reason, "rejected with status 404");
    EXPECT_EQ(e.dlq->last_status, std::optional<unsigned>(404));
    EXPECT_EQ(e.dlq->attempts, 1u);
    EXPECT_EQ(e.attempts, 1u);
    EXPECT_EQ(e.body, sample().body);
}

TEST(DeadLetter, NotJsonIsWrappedWhole) {
    envelope::dlq_info info{"invalid envelope: not JSON", std::nullopt, 0, "2026-11-26T18:00:01Z"};
    auto r = dead_letter_raw("hello \xff world", info, {"t", 0, 1, ""}, "dlq");
    auto v = json::parse(r.value);
    EXPECT_EQ(v["raw_encoding"], "base64");
    EXPECT_EQ(envelope::base64_decode(v["raw"].get<std::string>()),
              std::optional<std::string>("hello \xff world"));
    EXPECT_EQ(v["dlq"]["reason"], "invalid envelope: not JSON");
    EXPECT_TRUE(v["dlq"]["last_status"].is_null());
}

TEST(DeadLetter, JsonObjectKeepsItsMembers) {
    envelope::dlq_info info{"invalid envelope: version", std::nullopt, 0, "2026-11-26T18:00:01Z"};
    auto r = dead_letter_raw(R"({"version":7,"id":"abc"})", info, {"t", 0, 1, ""}, "dlq");
    auto v = json::parse(r.value);
    EXPECT_EQ(v["version"], 7);
    EXPECT_EQ(v["dlq"]["reason"], "invalid envelope: version");
    EXPECT_EQ(header(r, "spillway-id"), "abc");
}

}  // namespace
}  // namespace spillway::replay
