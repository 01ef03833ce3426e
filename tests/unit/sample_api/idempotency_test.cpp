// Idempotency-Key: a repeated key returns the first response and creates nothing new.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "spillway/sample_api/users_api.hpp"

namespace spillway::sample_api {
namespace {

using json = nlohmann::json;

const std::string ada = R"({"name":"Ada","email":"ada@example.com"})";

api_response post(users_api& api, const std::string& body, std::optional<std::string> key) {
    return api.handle({"POST", "/api/users", body, std::move(key)});
}

TEST(SampleApiIdempotency, ARepeatedKeyReturnsTheFirstResponseAndCreatesNothing) {
    users_api api;
    auto first = post(api, ada, "key-1");
    ASSERT_EQ(first.status, 201u);
    EXPECT_FALSE(first.header("Idempotent-Replayed"));
    for (int i = 0; i < 3; ++i) {
        auto again = post(api, ada, "key-1");
        EXPECT_EQ(again.status, 201u);
        EXPECT_EQ(again.body, first.body);
        EXPECT_EQ(again.header("Location"), "/api/users/1");
        EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    }
    EXPECT_EQ(api.stats().users, 1u);
    EXPECT_EQ(api.stats().created, 1u);
    EXPECT_EQ(api.stats().replayed, 3u);

    // Another key, or none, is another request.
    EXPECT_EQ(json::parse(post(api, ada, "key-2").body)["id"], 2);
    EXPECT_EQ(json::parse(post(api, ada, std::nullopt).body)["id"], 3);
    EXPECT_EQ(json::parse(post(api, ada, std::nullopt).body)["id"], 4);
}

TEST(SampleApiIdempotency, TheFirstResponseIsReturnedEvenWhenItWasAnError) {
    users_api api;
    EXPECT_EQ(post(api, R"({"name":"Ada"})", "k").status, 400u);
    auto again = post(api, R"({"name":"Ada"})", "k");
    EXPECT_EQ(again.status, 400u);
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
}

TEST(SampleApiIdempotency, AKeyReusedForADifferentRequestIs422) {
    users_api api;
    ASSERT_EQ(post(api, ada, "k").status, 201u);
    auto other_body = post(api, R"({"name":"Bob","email":"bob@example.com"})", "k");
    EXPECT_EQ(other_body.status, 422u);
    EXPECT_EQ(json::parse(other_body.body)["error"], "idempotency_key_reused");
    EXPECT_EQ(api.handle({"PUT", "/api/users/1", ada, "k"}).status, 422u);
    EXPECT_EQ(api.handle({"POST", "/api/users?x=1", ada, "k"}).status, 422u);
    EXPECT_EQ(api.stats().users, 1u);
}

TEST(SampleApiIdempotency, DeleteRepeatedWithItsKeyStays204) {
    // A replayed DELETE must not turn into a 404 (which the replay would dead-letter).
    users_api api;
    post(api, ada, std::nullopt);
    EXPECT_EQ(api.handle({"DELETE", "/api/users/1", "", "del-1"}).status, 204u);
    EXPECT_EQ(api.handle({"DELETE", "/api/users/1", "", "del-1"}).status, 204u);
    EXPECT_EQ(api.handle({"DELETE", "/api/users/1", "", std::nullopt}).status, 404u);
}

TEST(SampleApiIdempotency, SafeMethodsIgnoreTheKey) {
    users_api api;
    EXPECT_EQ(json::parse(api.handle({"GET", "/api/users", "", "g"}).body).size(), 0u);
    post(api, ada, std::nullopt);
    auto list = api.handle({"GET", "/api/users", "", "g"});
    EXPECT_EQ(json::parse(list.body).size(), 1u);
    EXPECT_FALSE(list.header("Idempotent-Replayed"));
}

TEST(SampleApiIdempotency, AnEmptyOrOverlongKeyIs400) {
    users_api api;
    EXPECT_EQ(post(api, ada, "").status, 400u);
    EXPECT_EQ(post(api, ada, std::string(256, 'k')).status, 400u);
    EXPECT_EQ(post(api, ada, std::string(255, 'k')).status, 201u);
    EXPECT_EQ(api.stats().users, 1u);
}

TEST(SampleApiIdempotency, TheOldestKeysAreForgottenPastTheCapacity) {
    users_api api(2);
    post(api, ada, "a");
    post(api, ada, "b");
    post(api, ada, "c");  // forgets "a"
    EXPECT_EQ(post(api, ada, "c").header("Idempotent-Replayed"), "true");
    EXPECT_EQ(post(api, ada, "b").header("Idempotent-Replayed"), "true");
    EXPECT_FALSE(post(api, ada, "a").header("Idempotent-Replayed"));
    EXPECT_EQ(api.stats().users, 4u);
}

TEST(IdempotencyCache, LooksUpByKeyAndFingerprint) {
    idempotency_cache cache(10);
    const auto fp = idempotency_cache::fingerprint("POST", "/x", "body");
    EXPECT_EQ(cache.lookup("k", fp).what, idempotency_cache::verdict::new_request);
    cache.remember("k", fp, {201, "first", "/x/1"});
    cache.remember("k", fp, {500, "second", ""});  // the first response stays
    auto found = cache.lookup("k", fp);
    ASSERT_EQ(found.what, idempotency_cache::verdict::repeat);
    EXPECT_EQ(found.response->status, 201u);
    EXPECT_EQ(found.response->body, "first");
    EXPECT_EQ(cache.lookup("k", idempotency_cache::fingerprint("POST", "/x", "bodY")).what,
              idempotency_cache::verdict::mismatch);
    EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace spillway::sample_api
