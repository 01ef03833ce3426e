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

}  // namespace
}  // namespace spillway::sample_api
