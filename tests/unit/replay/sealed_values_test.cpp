// The replay's "open sealed values" step, and a sealed envelope through to_json, parse_envelope,
// the dead letter and --tail: opened only for sending, never in what is stored or printed.

#include "spillway/replay/sealed_values.hpp"

#include "spillway/replay/dead_letter.hpp"
#include "spillway/replay/tail_format.hpp"

#include "support/sample_envelope.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

core::seal_key key_of(char fill) {
    return std::move(*core::seal_key::from_bytes(std::string(core::seal_key_size, fill)));
}

// An envelope whose Authorization, Cookie and body were sealed as the proxy seals them.
struct sealed_case {
    envelope::envelope env;
    std::string body = std::string("{\"n\":1}\x00\xff", 9);
};

sealed_case make_sealed(const core::seal_key& key) {
    sealed_case c;
    auto& e = c.env;
    e.id = "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11";
    e.received_at = "2026-11-26T18:00:00.123Z";
    e.method = "POST";
    e.uri = "/api/users";
    e.http_version = "1.1";
    e.headers = {{"Host", "api.example"},
                 {"Authorization", core::seal(key, e.id, "Authorization", "Bearer t0k3n")},
                 {"cookie", core::seal(key, e.id, "cookie", "a=1; b=2")},
                 {"X-Plain", "sealed: no"}};
    e.body = core::seal(key, e.id, core::sealed_body_name, c.body);
    e.body_sealed = true;
    e.client_ip = "127.0.0.1";
    e.upstream = "127.0.0.1:3000";
    e.failure.kind = core::failure_kind::connect_error;
    return c;
}

outgoing_request built(const envelope::envelope& e) {
    auto r = build_request(e, "backend:3000");
    EXPECT_TRUE(std::holds_alternative<outgoing_request>(r));
    return std::get<outgoing_request>(std::move(r));
}

TEST(SealedValues, OpensHeadersAndBodyByteExact) {
    const core::seal_keyring ring(key_of('k'), {});
    const auto c = make_sealed(*ring.sealing());
    auto req = built(c.env);
    ASSERT_EQ(open_sealed_values(req, c.env, &ring), std::nullopt);
    EXPECT_EQ(req.headers[1],
              (std::pair<std::string, std::string>{"Authorization", "Bearer t0k3n"}));
    EXPECT_EQ(req.headers[2].second, "a=1; b=2");
    EXPECT_EQ(req.headers[3].second, "sealed: no") << "not a sealed value: left alone";
    EXPECT_EQ(req.body, c.body);
}

TEST(SealedValues, WithoutTheKeyTheRequestIsRefusedWithASealReason) {
    const auto c = make_sealed(key_of('k'));
    auto req = built(c.env);
    auto why = open_sealed_values(req, c.env, nullptr);
    ASSERT_TRUE(why);
    EXPECT_EQ(why->reason.rfind("seal: Authorization: unknown key id " + key_of('k').id(), 0), 0u)
        << why->reason;

    const core::seal_keyring wrong(key_of('w'), {});
    req = built(c.env);
    why = open_sealed_values(req, c.env, &wrong);
    ASSERT_TRUE(why);
    EXPECT_EQ(why->reason.find("t0k3n"), std::string::npos);
}

TEST(SealedValues, ABodyOrHeaderMovedFromAnotherEnvelopeIsRefused) {
    const core::seal_keyring ring(key_of('k'), {});
    auto c = make_sealed(*ring.sealing());
    auto other = make_sealed(*ring.sealing());
    other.env.id = "1c0a7d2f-4b63-4a8f-8e1b-7a2a5c8d3f22";
    auto req = built(other.env);
    auto why = open_sealed_values(req, other.env, &ring);
    ASSERT_TRUE(why);
    EXPECT_NE(why->reason.find("does not open"), std::string::npos) << why->reason;

    // The sealed Cookie value copied under another header of the same envelope.
    c.env.headers[3].second = c.env.headers[2].second;
    req = built(c.env);
    why = open_sealed_values(req, c.env, &ring);
    ASSERT_TRUE(why);
    EXPECT_EQ(why->reason.rfind("seal: X-Plain: ", 0), 0u) << why->reason;
}

TEST(SealedValues, AClientValueThatLooksSealedIsRefusedNotSent) {
    const core::seal_keyring ring(key_of('k'), {});
    auto e = test::sample_envelope();
    e.headers.emplace_back("X-Fake", "sealed:v1:00000000:AAAA");
    auto req = built(e);
    auto why = open_sealed_values(req, e, &ring);
    ASSERT_TRUE(why);
    EXPECT_EQ(why->reason.rfind("seal: X-Fake: ", 0), 0u);
}

TEST(SealedValues, PlainEnvelopesPassUntouched) {
    const auto e = test::sample_envelope();
    auto req = built(e);
    const auto before = req.headers;
    EXPECT_EQ(open_sealed_values(req, e, nullptr), std::nullopt);
    EXPECT_EQ(req.headers, before);
    EXPECT_EQ(req.body, e.body);
}

TEST(SealedEnvelope, BodyEncodingSealedRoundTripsAndStaysSealedInTheDeadLetter) {
    const auto c = make_sealed(key_of('k'));
    const auto json = envelope::to_json(c.env);
    EXPECT_NE(json.find("\"body_encoding\":\"sealed\""), std::string::npos);
    auto parsed = envelope::parse_envelope(json);
    ASSERT_TRUE(std::holds_alternative<envelope::envelope>(parsed));
    const auto& back = std::get<envelope::envelope>(parsed);
    EXPECT_TRUE(back.body_sealed);
    EXPECT_EQ(back.body, c.env.body);
    EXPECT_EQ(back.headers, c.env.headers);

    const auto dead =
        dead_letter_envelope(back, {"seal: x", std::nullopt, 0, "2026-11-26T18:00:00Z"},
                             {"failed-requests", 0, 1, ""}, "dlq");
    EXPECT_NE(dead.value.find("\"body_encoding\":\"sealed\""), std::string::npos);
    EXPECT_EQ(dead.value.find("t0k3n"), std::string::npos);
}

TEST(SealedEnvelope, TailNeverOpensSealedValues) {
    const auto c = make_sealed(key_of('k'));
    const auto json = envelope::to_json(c.env);
    const auto text = format_tail_line(tail_format::text, json, {0, 1}, "http://b:1");
    EXPECT_NE(text.find("body=sealed"), std::string::npos) << text;
    const auto curl = format_tail_line(tail_format::curl, json, {0, 1}, "http://b:1");
    EXPECT_EQ(curl.find("t0k3n"), std::string::npos) << curl;
    EXPECT_EQ(curl.find("--data"), std::string::npos) << "a sealed body is left out: " << curl;
    EXPECT_NE(curl.find("# sealed"), std::string::npos) << curl;
    const auto as_json = format_tail_line(tail_format::json, json, {0, 1}, "http://b:1");
    EXPECT_NE(as_json.find("\"body_encoding\":\"sealed\""), std::string::npos);
}

}  // namespace
}  // namespace spillway::replay
