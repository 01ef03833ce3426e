#include "spillway/replay/dead_letter.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace spillway::replay {
namespace {

using json = nlohmann::json;

envelope::envelope sample() {
    envelope::envelope e;
    e.id = "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11";
    e.received_at = "2026-11-26T18:00:00.123Z";
    e.method = "POST";
    e.uri = "/api/users?x=1";
    e.http_version = "1.1";
    e.headers = {{"Host", "localhost:8080"}, {"Content-Type", "application/json"}};
    e.body = "{\"name\":\"John\"}";
    e.client_ip = "127.0.0.1";
    e.upstream = "127.0.0.1:3000";
    e.failure.kind = core::failure_kind::connect_error;
    e.failure.detail = "Connection refused";
    return e;
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
