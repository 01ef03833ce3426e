#include "spillway/envelope/envelope.hpp"

#include "spillway/envelope/envelope_limits.hpp"

#include "support/schema.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>

namespace spillway::envelope {
namespace {

using json = nlohmann::json;

envelope sample() {
    envelope e;
    e.id = "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11";
    e.received_at = "2026-11-26T18:00:00.123Z";
    e.method = "POST";
    e.uri = "/api/users?source=web";
    e.http_version = "1.1";
    e.headers = {{"Host", "localhost:8080"}, {"Content-Type", "application/json"}};
    e.body = R"({"name":"John","email":"john@example.com"})";
    e.client_ip = "127.0.0.1";
    e.upstream = "api:3000";
    e.failure = {core::failure_kind::connect_error, std::nullopt, false, "Connection refused"};
    return e;
}

envelope parsed(const std::string& text) {
    auto result = parse_envelope(text);
    if (auto* err = std::get_if<parse_error>(&result)) {
        ADD_FAILURE() << "parse failed: " << err->reason << "\n" << text.substr(0, 500);
        return {};
    }
    return std::get<envelope>(std::move(result));
}

std::string reason_of(const std::string& text) {
    auto result = parse_envelope(text);
    if (auto* err = std::get_if<parse_error>(&result)) {
        return err->reason;
    }
    return "(parsed)";
}

void expect_same(const envelope& a, const envelope& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.received_at, b.received_at);
    EXPECT_EQ(a.method, b.method);
    EXPECT_EQ(a.uri, b.uri);
    EXPECT_EQ(a.http_version, b.http_version);
    EXPECT_EQ(a.headers, b.headers);
    EXPECT_EQ(a.body, b.body);
    EXPECT_EQ(a.client_ip, b.client_ip);
    EXPECT_EQ(a.upstream, b.upstream);
    EXPECT_EQ(a.failure.kind, b.failure.kind);
    EXPECT_EQ(a.failure.status, b.failure.status);
    EXPECT_EQ(a.failure.sent_upstream, b.failure.sent_upstream);
    EXPECT_EQ(a.failure.detail, b.failure.detail);
    EXPECT_EQ(a.attempts, b.attempts);
    ASSERT_EQ(a.dlq.has_value(), b.dlq.has_value());
    if (a.dlq) {
        EXPECT_EQ(a.dlq->reason, b.dlq->reason);
        EXPECT_EQ(a.dlq->last_status, b.dlq->last_status);
        EXPECT_EQ(a.dlq->attempts, b.dlq->attempts);
        EXPECT_EQ(a.dlq->at, b.dlq->at);
    }
}

TEST(EnvelopeTest, SerializesTheDesignExampleWithFieldsInOrder) {
    const std::string text = to_json(sample());
    const std::vector<std::string> keys = {
        "\"version\":1",       "\"id\":",       "\"received_at\":",
        "\"method\":\"POST\"", "\"uri\":",      "\"http_version\":\"1.1\"",
        "\"headers\":",        "\"body\":",     "\"body_encoding\":\"utf8\"",
        "\"client_ip\":",      "\"upstream\":", "\"failure\":",
        "\"attempts\":0"};
    std::size_t last = 0;
    for (const auto& key : keys) {
        const std::size_t at = text.find(key);
        ASSERT_NE(at, std::string::npos) << key << " in " << text;
        EXPECT_GE(at, last) << key << " out of order in " << text;
        last = at;
    }
    EXPECT_EQ(text.find("\"dlq\""), std::string::npos);
    const json doc = json::parse(text);
    EXPECT_EQ(doc["failure"],
              json::parse(R"({"kind":"connect_error","status":null,"sent_upstream":false,)"
                          R"("detail":"Connection refused"})"));
    EXPECT_EQ(doc["body"], sample().body);
}

TEST(EnvelopeTest, RoundTripKeepsDuplicateHeadersInOrderAndUnicode) {
    envelope e = sample();
    e.headers = {{"X-B", "2"},
                 {"Set-Thing", "a"},
                 {"X-A", "1"},
                 {"Set-Thing", "b"},
                 {"X-Emoji", "caf\xc3\xa9 \xf0\x9f\x9a\x80"},
                 {"X-Quote", "say \"hi\" \\ back"},
                 {"X-Empty", ""}};
    e.body = "na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80 line\nbreak\ttab \x01 \"q\" \\";
    e.uri = "/search?q=%E2%82%AC&x=1";
    const std::string text = to_json(e);
    EXPECT_NE(text.find("\"body_encoding\":\"utf8\""), std::string::npos);
    expect_same(parsed(text), e);
}

TEST(EnvelopeTest, BinaryBodyWithNulBytesTravelsAsBase64) {
    envelope e = sample();
    e.body = std::string("\x00\x01\xff\xfe\x00PNG\r\n\x1a\n", 12);
    const std::string text = to_json(e);
    const json doc = json::parse(text);
    EXPECT_EQ(doc["body_encoding"], "base64");
    EXPECT_EQ(doc["body"], base64_encode(e.body));
    expect_same(parsed(text), e);
}

TEST(EnvelopeTest, TextBodyWithAFewControlBytesStaysUtf8) {
    envelope e = sample();
    e.body = std::string("a\0b, and some more text around it", 34);
    const std::string text = to_json(e);
    EXPECT_NE(text.find("a\\u0000b"), std::string::npos);
    expect_same(parsed(text), e);
}

// Escaped, a control byte takes six (\u0001): a body of them would make an envelope six times its
// size, beyond what envelope_limits.hpp allows. Beyond twice the body it goes as base64.
TEST(EnvelopeTest, BodyWhoseEscapedTextWouldMoreThanDoubleGoesAsBase64) {
    envelope e = sample();
    e.body = std::string(4096, '\x01');
    std::string text = to_json(e);
    EXPECT_NE(text.find("\"body_encoding\":\"base64\""), std::string::npos);
    EXPECT_LE(text.size(), to_json(sample()).size() + 4096 / 3 * 4 + 8);
    expect_same(parsed(text), e);

    e.body = std::string("a\0b", 3);  // 8 escaped bytes for 3
    EXPECT_FALSE(body_as_utf8(e.body));
    expect_same(parsed(to_json(e)), e);

    // Quotes, backslashes and line breaks double at most: text stays text, however many.
    e.body = std::string(4096, '"') + std::string(4096, '\n') + std::string(4096, '\\');
    EXPECT_TRUE(body_as_utf8(e.body));
    text = to_json(e);
    EXPECT_NE(text.find("\"body_encoding\":\"utf8\""), std::string::npos);
    expect_same(parsed(text), e);
}

TEST(EnvelopeTest, OneMebibyteBodiesRoundTrip) {
    envelope text_body = sample();
    text_body.body.resize(1 << 20);
    for (std::size_t i = 0; i < text_body.body.size(); ++i) {
        text_body.body[i] = static_cast<char>(0x20 + i % 95);
    }
    expect_same(parsed(to_json(text_body)), text_body);

    envelope binary_body = sample();
    binary_body.body.resize(1 << 20);
    for (std::size_t i = 0; i < binary_body.body.size(); ++i) {
        binary_body.body[i] = static_cast<char>((i * 7919) & 0xff);
    }
    const std::string text = to_json(binary_body);
    EXPECT_NE(text.find("\"body_encoding\":\"base64\""), std::string::npos);
    expect_same(parsed(text), binary_body);
}

TEST(EnvelopeTest, FailureStatusOnlyForUpstreamStatus) {
    envelope e = sample();
    e.failure = {core::failure_kind::upstream_status, 503, true, "503 Service Unavailable"};
    json doc = json::parse(to_json(e));
    EXPECT_EQ(doc["failure"]["status"], 503);
    EXPECT_EQ(doc["failure"]["sent_upstream"], true);
    expect_same(parsed(to_json(e)), e);

    e.failure = {core::failure_kind::timeout, 504, true, "stray status"};
    doc = json::parse(to_json(e));
    EXPECT_TRUE(doc["failure"]["status"].is_null());
}

TEST(EnvelopeTest, DeadLetterObjectRoundTrips) {
    envelope e = sample();
    e.attempts = 10;
    e.dlq = dlq_info{"max attempts reached", 500, 10, "2026-11-26T19:00:00.000Z"};
    const std::string text = to_json(e);
    EXPECT_GT(text.find("\"dlq\":"), text.find("\"attempts\":10"));
    expect_same(parsed(text), e);

    e.dlq = dlq_info{"not an envelope", std::nullopt, 0, "2026-11-26T19:00:00Z"};
    expect_same(parsed(to_json(e)), e);
}

TEST(EnvelopeTest, IllFormedUtf8OutsideTheBodyBecomesReplacementCharacters) {
    envelope e = sample();
    e.headers = {{"X-Latin1", "caf\xe9"}};
    const std::string text = to_json(e);
    const envelope back = parsed(text);
    ASSERT_EQ(back.headers.size(), 1u);
    EXPECT_EQ(back.headers[0].second, "caf\xef\xbf\xbd");
}

TEST(EnvelopeTest, UnknownMembersAreIgnored) {
    json doc = json::parse(to_json(sample()));
    doc["added_in_a_later_release"] = {{"x", 1}};
    doc["failure"]["extra"] = true;
    expect_same(parsed(doc.dump()), sample());
}

TEST(Utf8Test, AcceptsWellFormedAndRejectsIllFormed) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii that is longer than eight bytes"));
    EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
    EXPECT_TRUE(is_valid_utf8(std::string("\0", 1)));
    EXPECT_FALSE(is_valid_utf8("\xc0\x80"));  // overlong NUL
    EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));  // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate U+D800
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(is_valid_utf8("abcdefgh\xe2\x82"));  // truncated at the end
    EXPECT_FALSE(is_valid_utf8("\x80"));  // lone continuation
    EXPECT_FALSE(is_valid_utf8("\xff"));
}

// The record limit is derived from the worst case (envelope_limits.hpp): no body within
// capture.max_body_bytes and no head within limits.max_header_bytes makes a larger envelope.
TEST(EnvelopeLimitsTest, WorstCaseBodiesAndHeadsFitTheBound) {
    constexpr std::size_t max_body = 64 * 1024;
    constexpr std::size_t max_header = 4096;
    std::string all_bytes;
    for (std::size_t i = 0; i < max_body; ++i) {
        all_bytes += static_cast<char>(i & 0xff);
    }
    const std::vector<std::string> bodies = {std::string(max_body, '\x01'),
                                             std::string(max_body, '"'),
                                             std::string(max_body, '\0'),
                                             std::string(max_body, '\xff'),
                                             std::string(max_body, '\\'),
                                             all_bytes,
                                             std::string(max_body - 1, '\x1f') + "a"};
    // Heads of max_header raw bytes: one long value of obs-text (each byte becomes U+FFFD, three
    // bytes), and as many of the smallest lines ("a:\r\n") as fit.
    envelope long_value = sample();
    long_value.headers = {{"a", std::string(max_header - 16, '\xff')}};
    envelope many_lines = sample();
    many_lines.headers.assign((max_header - 16) / 4, {"a", ""});
    for (const auto* head : {&long_value, &many_lines}) {
        for (const auto& body : bodies) {
            envelope e = *head;
            e.body = body;
            e.uri = "/";
            e.failure.detail = std::string(200, '\x01');
            EXPECT_LE(to_json(e).size(), max_envelope_bytes(max_body, max_header))
                << "body of " << static_cast<int>(static_cast<unsigned char>(body[0]));
        }
    }
    // The bound is not wildly loose for the default limits: about twice the body.
    EXPECT_LT(max_envelope_bytes(10 << 20, 16 << 10), 22u << 20);
}

TEST(Base64Test, Rfc4648VectorsBothWays) {
    const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                      {"f", "Zg=="},
                                                                      {"fo", "Zm8="},
                                                                      {"foo", "Zm9v"},
                                                                      {"foob", "Zm9vYg=="},
                                                                      {"fooba", "Zm9vYmE="},
                                                                      {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(plain), encoded);
        EXPECT_EQ(base64_decode(encoded), plain);
    }
    std::string all;
    for (int i = 0; i < 256; ++i) {
        all += static_cast<char>(i);
    }
    EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(Base64Test, RejectsMalformedText) {
    for (const char* bad :
         {"Zg=", "Zg", "Zg=A", "Z===", "====", "Zm9v\n", "Zm 9", "Zm9-", "@@@@", "Zm=v"}) {
        EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
    }
}

struct mutation {
    std::string name;
    std::function<void(json&)> apply;
    std::string reason;
};

std::vector<mutation> mutations() {
    return {
        {"version_missing", [](json& d) { d.erase("version"); }, "version: missing"},
        {"version_string", [](json& d) { d["version"] = "1"; }, "version: expected an integer"},
        {"version_2", [](json& d) { d["version"] = 2; }, "version: unsupported version 2"},
        {"id_missing", [](json& d) { d.erase("id"); }, "id: missing"},
        {"id_number", [](json& d) { d["id"] = 7; }, "id: expected a string"},
        {"id_not_uuid", [](json& d) { d["id"] = "abc"; }, "id: expected a UUID"},
        {"method_missing", [](json& d) { d.erase("method"); }, "method: missing"},
        {"method_space", [](json& d) { d["method"] = "GET X"; },
         "method: expected an HTTP method token"},
        {"uri_null", [](json& d) { d["uri"] = nullptr; }, "uri: expected a string"},
        {"uri_space", [](json& d) { d["uri"] = "/a b"; },
         "uri: expected a request-target without spaces or control characters"},
        {"headers_missing", [](json& d) { d.erase("headers"); }, "headers: missing"},
        {"headers_object", [](json& d) { d["headers"] = json::object(); },
         "headers: expected an array of [name, value] pairs"},
        {"header_not_pair", [](json& d) { d["headers"][1] = json::array({"X-A"}); },
         "headers[1]: expected a [name, value] pair of strings"},
        {"header_number", [](json& d) { d["headers"][0][1] = 5; },
         "headers[0]: expected a [name, value] pair of strings"},
        {"header_bad_name", [](json& d) { d["headers"][0][0] = "X A:"; },
         "headers[0]: invalid header name"},
        {"header_crlf", [](json& d) { d["headers"][1][1] = "a\r\nX-Injected: 1"; },
         "headers[1]: value contains CR, LF or NUL"},
        {"body_missing", [](json& d) { d.erase("body"); }, "body: missing"},
        {"body_encoding_missing", [](json& d) { d.erase("body_encoding"); },
         "body_encoding: missing"},
        {"body_encoding_gzip", [](json& d) { d["body_encoding"] = "gzip"; },
         "body_encoding: expected \"utf8\", \"base64\" or \"sealed\""},
        {"body_bad_base64",
         [](json& d) {
             d["body_encoding"] = "base64";
             d["body"] = "not base64!";
         },
         "body: invalid base64"},
        {"dlq_array", [](json& d) { d["dlq"] = json::array(); }, "dlq: expected an object"},
        {"dlq_reason_missing",
         [](json& d) {
             d["dlq"] = {{"last_status", 500}, {"attempts", 3}, {"at", "2026-11-26T19:00:00Z"}};
         },
         "dlq.reason: missing"},
        {"dlq_at_bad",
         [](json& d) {
             d["dlq"] = {{"reason", "x"}, {"last_status", nullptr}, {"attempts", 3}, {"at", "now"}};
         },
         "dlq.at: expected an RFC 3339 date-time"},
        {"dlq_last_status_bad",
         [](json& d) {
             d["dlq"] = {{"reason", "x"},
                         {"last_status", 42},
                         {"attempts", 3},
                         {"at", "2026-11-26T19:00:00Z"}};
         },
         "dlq.last_status: expected an HTTP status (100-599) or null"},
    };
}

// Mistakes in the information members (DESIGN.md "The envelope"): the replay needs none of them,
// so each is read as unknown and the request is replayed, not dead-lettered.
std::vector<std::pair<std::string, std::function<void(json&)>>> information_mutations() {
    return {
        {"received_at_bad", [](json& d) { d["received_at"] = "yesterday"; }},
        {"received_at_missing", [](json& d) { d.erase("received_at"); }},
        {"http_version_2", [](json& d) { d["http_version"] = "2"; }},
        {"http_version_missing", [](json& d) { d.erase("http_version"); }},
        {"client_ip_missing", [](json& d) { d.erase("client_ip"); }},
        {"client_ip_number", [](json& d) { d["client_ip"] = 127; }},
        {"upstream_number", [](json& d) { d["upstream"] = 3000; }},
        {"scheme_number", [](json& d) { d["scheme"] = 1; }},
        {"scheme_gopher", [](json& d) { d["scheme"] = "gopher"; }},
        {"redrives_string", [](json& d) { d["redrives"] = "many"; }},
        {"failure_missing", [](json& d) { d.erase("failure"); }},
        {"failure_string", [](json& d) { d["failure"] = "connect_error"; }},
        {"failure_kind_unknown", [](json& d) { d["failure"]["kind"] = "gremlins"; }},
        {"failure_kind_missing", [](json& d) { d["failure"].erase("kind"); }},
        {"failure_status_string", [](json& d) { d["failure"]["status"] = "503"; }},
        {"failure_status_without_kind", [](json& d) { d["failure"]["status"] = 503; }},
        {"failure_status_required", [](json& d) { d["failure"]["kind"] = "upstream_status"; }},
        {"failure_sent_upstream_string", [](json& d) { d["failure"]["sent_upstream"] = "no"; }},
        {"failure_detail_missing", [](json& d) { d["failure"].erase("detail"); }},
        {"attempts_missing", [](json& d) { d.erase("attempts"); }},
        {"attempts_negative", [](json& d) { d["attempts"] = -1; }},
        {"attempts_float", [](json& d) { d["attempts"] = 1.5; }},
    };
}

TEST(EnvelopeParseTest, EveryMistakeNamesItsField) {
    const json valid = json::parse(to_json(sample()));
    for (const auto& m : mutations()) {
        json doc = valid;
        m.apply(doc);
        EXPECT_EQ(reason_of(doc.dump()), m.reason) << m.name;
    }
}

TEST(EnvelopeParseTest, InformationThatIsAbsentOrMalformedIsUnknownNotARejection) {
    envelope e = sample();
    e.attempts = 4;
    const json valid = json::parse(to_json(e));
    for (const auto& [name, apply] : information_mutations()) {
        json doc = valid;
        apply(doc);
        auto result = parse_envelope(doc.dump());
        ASSERT_TRUE(std::holds_alternative<envelope>(result))
            << name << ": " << std::get<parse_error>(result).reason;
        const auto& got = std::get<envelope>(result);
        // What a replay needs is whole.
        EXPECT_EQ(got.id, e.id) << name;
        EXPECT_EQ(got.method, e.method) << name;
        EXPECT_EQ(got.uri, e.uri) << name;
        EXPECT_EQ(got.headers, e.headers) << name;
        EXPECT_EQ(got.body, e.body) << name;
        EXPECT_TRUE(got.scheme.empty()) << name;
        if (name.rfind("failure_", 0) == 0) {
            // Unknown: the replay must assume the backend may have acted on it.
            EXPECT_TRUE(got.failure.sent_upstream) << name;
            EXPECT_EQ(got.failure.detail.rfind("unknown", 0), 0u) << name;
        }
        if (name.rfind("attempts_", 0) == 0) {
            EXPECT_EQ(got.attempts, 0u) << name;
        } else {
            EXPECT_EQ(got.attempts, 4u) << name;
        }
    }
}

TEST(EnvelopeParseTest, SchemeIsWrittenWhenKnownAndReadBack) {
    envelope e = sample();
    EXPECT_EQ(to_json(e).find("\"scheme\""), std::string::npos);  // older writers: absent
    e.scheme = "http";
    const std::string text = to_json(e);
    EXPECT_NE(text.find("\"client_ip\":\"127.0.0.1\",\"scheme\":\"http\""), std::string::npos)
        << text;
    EXPECT_EQ(parsed(text).scheme, "http");
    e.scheme = "https";
    EXPECT_EQ(parsed(to_json(e)).scheme, "https");
}

TEST(EnvelopeParseTest, RejectsWhatIsNotAJsonObject) {
    EXPECT_EQ(reason_of(""), "envelope: not valid JSON");
    EXPECT_EQ(reason_of("{\"version\":1,"), "envelope: not valid JSON");
    EXPECT_EQ(reason_of("{\"version\":\"\xff\"}"), "envelope: not valid JSON");
    EXPECT_EQ(reason_of("[1,2]"), "envelope: expected a JSON object");
    EXPECT_EQ(reason_of("null"), "envelope: expected a JSON object");
}

TEST(EnvelopeSchemaTest, SerializedEnvelopesAreValid) {
    std::vector<std::string> docs;
    envelope e = sample();
    docs.push_back(to_json(e));
    e.body = std::string("\x00\xff binary", 9);
    e.headers.push_back({"X-Dup", "1"});
    e.headers.push_back({"X-Dup", "2"});
    e.failure = {core::failure_kind::upstream_status, 502, true, "502 Bad Gateway"};
    docs.push_back(to_json(e));
    e.failure = {core::failure_kind::upstream_reset, std::nullopt, true, "reset"};
    e.attempts = 10;
    e.dlq = dlq_info{"max attempts", 503, 10, "2026-11-26T19:00:00.000Z"};
    docs.push_back(to_json(e));
    e.http_version = "1.0";
    e.method = "DELETE";
    e.headers.clear();
    e.body.clear();
    e.dlq = dlq_info{"bad", std::nullopt, 0, "2026-11-26T19:00:00+01:00"};
    e.failure = {core::failure_kind::circuit_open, std::nullopt, false, ""};
    docs.push_back(to_json(e));
    const auto verdicts = test::validate_json(test::envelope_schema_path(), docs);
    ASSERT_EQ(verdicts.size(), docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
        EXPECT_TRUE(verdicts[i].valid) << verdicts[i].message << "\n" << docs[i];
    }
}

// The schema and the parser hold the same contract: every document the parser rejects for a
// field-level reason, the independent validator rejects too.
TEST(EnvelopeSchemaTest, InvalidDocumentsAreRejected) {
    const json valid = json::parse(to_json(sample()));
    std::vector<std::string> docs;
    const auto all = mutations();
    for (const auto& m : all) {
        json doc = valid;
        m.apply(doc);
        docs.push_back(doc.dump());
    }
    const auto verdicts = test::validate_json(test::envelope_schema_path(), docs);
    ASSERT_EQ(verdicts.size(), docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
        EXPECT_FALSE(verdicts[i].valid) << all[i].name << ": " << verdicts[i].message;
        EXPECT_EQ(verdicts[i].message.rfind("invalid: ", 0), 0u)
            << all[i].name << ": the validator did not run: " << verdicts[i].message;
    }
}

}  // namespace
}  // namespace spillway::envelope
