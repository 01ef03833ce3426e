// The sample API's behaviour without sockets: routing, validation, the users store.

#include "spillway/sample_api/users_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace spillway::sample_api {
namespace {

using json = nlohmann::json;

users_api make_api(std::size_t keys = 10000) {
    return users_api(keys, [] { return std::string("2026-11-26T18:00:00.000Z"); });
}

api_response call(users_api& api, std::string method, std::string target, std::string body = {},
                  std::optional<std::string> key = std::nullopt) {
    return api.handle({std::move(method), std::move(target), std::move(body), std::move(key)});
}

TEST(SampleApi, HealthAnswersOkWithTheUserCount) {
    auto api = make_api();
    auto res = call(api, "GET", "/api/health");
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(json::parse(res.body), (json{{"status", "ok"}, {"users", 0}}));
}

TEST(SampleApi, CreatesListsReadsReplacesAndDeletesUsers) {
    auto api = make_api();
    auto created = call(api, "POST", "/api/users", R"({"name":" Ada ","email":"ada@example.com"})");
    ASSERT_EQ(created.status, 201u) << created.body;
    auto user = json::parse(created.body);
    EXPECT_EQ(user["id"], 1);
    EXPECT_EQ(user["name"], "Ada");  // trimmed
    EXPECT_EQ(user["email"], "ada@example.com");
    EXPECT_EQ(user["created_at"], "2026-11-26T18:00:00.000Z");
    EXPECT_EQ(created.header("Location"), "/api/users/1");

    call(api, "POST", "/api/users", R"({"name":"Bob","email":"bob@example.org","x":1})");
    auto list = json::parse(call(api, "GET", "/api/users?page=1").body);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0]["name"], "Ada");
    EXPECT_EQ(list[1]["name"], "Bob");
    EXPECT_FALSE(list[1].contains("x"));

    EXPECT_EQ(json::parse(call(api, "GET", "/api/users/2").body)["email"], "bob@example.org");
    auto replaced =
        call(api, "PUT", "/api/users/2", R"({"name":"Robert","email":"r@example.org"})");
    EXPECT_EQ(replaced.status, 200u);
    EXPECT_EQ(json::parse(replaced.body)["name"], "Robert");
    EXPECT_EQ(call(api, "DELETE", "/api/users/1").status, 204u);
    EXPECT_EQ(call(api, "GET", "/api/users/1").status, 404u);
    EXPECT_EQ(call(api, "DELETE", "/api/users/1").status, 404u);
    EXPECT_EQ(json::parse(call(api, "GET", "/api/users").body).size(), 1u);

    // Ids are never reused.
    auto third = call(api, "POST", "/api/users", R"({"name":"Cy","email":"cy@example.com"})");
    EXPECT_EQ(json::parse(third.body)["id"], 3);
    EXPECT_EQ(api.stats().created, 3u);
    EXPECT_EQ(api.stats().users, 2u);
}

TEST(SampleApi, RejectsInvalidUsersWithA400NamingTheField) {
    auto api = make_api();
    const std::pair<const char*, const char*> cases[] = {
        {"", "body"},
        {"not json", "body"},
        {"[1,2]", "body"},
        {R"({"email":"a@b.co"})", "name"},
        {R"({"name":42,"email":"a@b.co"})", "name"},
        {R"({"name":"   ","email":"a@b.co"})", "name"},
        {R"({"name":"Ada"})", "email"},
        {R"({"name":"Ada","email":"ada"})", "email"},
        {R"({"name":"Ada","email":"ada@localhost"})", "email"},
        {R"({"name":"Ada","email":"a b@example.com"})", "email"},
        {R"({"name":"Ada","email":"a@@example.com"})", "email"},
        {R"({"name":"Ada","email":"@example.com"})", "email"},
        {R"({"name":"Ada","email":"a@example."})", "email"},
        {R"({"name":"Ada","email":"a@.example.com"})", "email"},
    };
    for (const auto& [body, field] : cases) {
        auto res = call(api, "POST", "/api/users", body);
        EXPECT_EQ(res.status, 400u) << body;
        auto error = json::parse(res.body);
        EXPECT_EQ(error["error"], "invalid_user") << body;
        EXPECT_TRUE(error["message"].get<std::string>().starts_with(field))
            << body << " -> " << error["message"];
    }
    EXPECT_EQ(call(api, "POST", "/api/users", R"({"name":"x","email":"a@b.co"})").status, 201u);
    EXPECT_EQ(call(api, "PUT", "/api/users/1", R"({"name":"","email":"a@b.co"})").status, 400u);
    EXPECT_EQ(api.stats().users, 1u);
}

TEST(SampleApi, UnknownPathsAre404AndWrongMethods405WithAllow) {
    auto api = make_api();
    EXPECT_EQ(call(api, "GET", "/").status, 404u);
    EXPECT_EQ(call(api, "GET", "/api/userss").status, 404u);
    EXPECT_EQ(call(api, "GET", "/api/users/abc").status, 404u);
    EXPECT_EQ(call(api, "GET", "/api/users/0").status, 404u);
    EXPECT_EQ(call(api, "GET", "/api/users/01").status, 404u);
    EXPECT_EQ(call(api, "GET", "/api/users/-1").status, 404u);
    EXPECT_EQ(call(api, "GET", "/api/users/99999999999999999999999").status, 404u);
    EXPECT_EQ(call(api, "GET", "/api/users/1/x").status, 404u);
    auto res = call(api, "DELETE", "/api/users");
    EXPECT_EQ(res.status, 405u);
    EXPECT_EQ(res.header("Allow"), "GET, HEAD, POST");
    EXPECT_EQ(call(api, "POST", "/api/health").header("Allow"), "GET, HEAD");
    EXPECT_EQ(call(api, "PATCH", "/api/users/1").header("Allow"), "GET, HEAD, PUT, DELETE");
    EXPECT_EQ(json::parse(res.body)["error"], "method_not_allowed");
}

// Idempotency-Key: a repeated key returns the first response and creates nothing new.

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

}  // namespace
}  // namespace spillway::sample_api
