// build_envelope with capture.seal_headers, redact_headers and seal_body: what goes into the
// envelope for each, with and without a seal key.

#include "spillway/capture/envelope_builder.hpp"
#include "spillway/core/seal.hpp"

#include <boost/beast/core/string.hpp>
#include <gtest/gtest.h>

namespace spillway::capture {
namespace {

namespace http = boost::beast::http;

class EnvelopeSealing : public ::testing::Test {
protected:
    EnvelopeSealing() {
        req_.set(http::field::host, "api.example");
        req_.insert("authorization", "Bearer t0k3n");
        req_.insert(http::field::cookie, "a=1");
        req_.insert("X-Api-Key", "k-1");
        req_.body() = "secret body";
        req_.prepare_payload();
        record_.client_ip = "192.0.2.1";
        failure_.kind = core::failure_kind::connect_error;
    }

    void use_key() {
        keys_ = std::make_shared<const core::seal_keyring>(
            core::seal_key::from_bytes(std::string(32, 'k')), std::vector<core::seal_key>{});
        cfg_.keys = keys_;
    }

    envelope::envelope build() { return build_envelope(req_, failure_, record_, cfg_, "b:1"); }

    static std::string value_of(const envelope::envelope& e, std::string_view name) {
        for (const auto& [n, v] : e.headers) {
            if (boost::beast::iequals(n, name)) {
                return v;
            }
        }
        return "(absent)";
    }

    config::capture_config cfg_;
    std::shared_ptr<const core::seal_keyring> keys_;
    proxy::client_request req_{http::verb::post, "/users", 11};
    proxy::request_record record_;
    core::failure failure_;
};

TEST_F(EnvelopeSealing, WithAKeySealedHeadersAreSealedBoundToTheIdAndName) {
    use_key();
    const auto e = build();
    const auto auth = value_of(e, "authorization");
    ASSERT_TRUE(core::is_sealed(auth)) << auth;
    auto opened = core::open_sealed(*keys_, e.id, "Authorization", auth);
    ASSERT_TRUE(std::holds_alternative<std::string>(opened));
    EXPECT_EQ(std::get<std::string>(opened), "Bearer t0k3n");
    EXPECT_TRUE(core::is_sealed(value_of(e, "Cookie")));
    EXPECT_EQ(value_of(e, "X-Api-Key"), "k-1");
    EXPECT_EQ(e.body, "secret body") << "the body is sealed only with seal_body";
    EXPECT_FALSE(e.body_sealed);
}

TEST_F(EnvelopeSealing, WithoutAKeySealedHeadersAreRedacted) {
    const auto e = build();
    EXPECT_EQ(value_of(e, "authorization"), "[REDACTED]");
    EXPECT_EQ(value_of(e, "Cookie"), "[REDACTED]");
    EXPECT_EQ(value_of(e, "X-Api-Key"), "k-1");
}

TEST_F(EnvelopeSealing, RedactedHeadersAreRedactedEvenWhenSealed) {
    use_key();
    cfg_.redact_headers = {"COOKIE", "x-api-key"};
    const auto e = build();
    EXPECT_EQ(value_of(e, "Cookie"), "[REDACTED]");
    EXPECT_EQ(value_of(e, "X-Api-Key"), "[REDACTED]");
    EXPECT_TRUE(core::is_sealed(value_of(e, "authorization")));
}

TEST_F(EnvelopeSealing, SealBodySealsTheBodyUnderItsOwnName) {
    use_key();
    cfg_.seal_body = true;
    const auto e = build();
    EXPECT_TRUE(e.body_sealed);
    EXPECT_EQ(e.body.find("secret"), std::string::npos);
    auto opened = core::open_sealed(*keys_, e.id, core::sealed_body_name, e.body);
    ASSERT_TRUE(std::holds_alternative<std::string>(opened));
    EXPECT_EQ(std::get<std::string>(opened), "secret body");
    EXPECT_EQ(envelope::to_json(e).find("secret"), std::string::npos);
}

}  // namespace
}  // namespace spillway::capture
