// spillway-sample-api, the real binary over loopback sockets.

#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>

namespace spillway::test {
namespace {

using json = nlohmann::json;

class SampleApi : public ::testing::Test {
protected:
    void SetUp() override {
        port_ = free_port();
        api_ = process::start({bin_path("spillway-sample-api"),
                               {"--listen", "127.0.0.1:" + std::to_string(port_)},
                               {},
                               "sample-api"});
        ASSERT_TRUE(api_.wait_for_port(port_)) << api_.stderr_text();
    }

    response post_user(const std::string& body, const header_list& extra = {}) {
        header_list headers{{"Content-Type", "application/json"}};
        headers.insert(headers.end(), extra.begin(), extra.end());
        return fetch(port_, "POST", "/api/users", headers, body);
    }

    std::uint16_t port_ = 0;
    process api_;
};

TEST_F(SampleApi, ServesTheUsersApiWithKeepAlive) {
    http_client client(port_);
    ASSERT_FALSE(client.connect_error());
    auto health = client.request(make_request("GET", "/api/health"));
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(health.header("Content-Type"), "application/json");
    EXPECT_EQ(json::parse(health.body)["status"], "ok");

    const std::string body = R"({"name":"Ada","email":"ada@example.com"})";
    auto created = client.request(
        make_request("POST", "/api/users", {{"Content-Type", "application/json"}}, body));
    EXPECT_EQ(created.status, 201u);
    EXPECT_EQ(created.header("Location"), "/api/users/1");
    EXPECT_EQ(json::parse(created.body)["name"], "Ada");

    auto list = client.request(make_request("GET", "/api/users"));
    ASSERT_EQ(list.status, 200u);
    EXPECT_EQ(json::parse(list.body).size(), 1u);
    EXPECT_TRUE(list.keep_alive);

    auto head = client.request(make_request("HEAD", "/api/users/1"), true);
    EXPECT_EQ(head.status, 200u);
    EXPECT_TRUE(head.body.empty());

    EXPECT_EQ(client.request(make_request("GET", "/api/users/7")).status, 404u);
    EXPECT_EQ(client.request(make_request("DELETE", "/api/users")).status, 405u);
    EXPECT_EQ(client.request(make_request("DELETE", "/api/users/1")).status, 204u);
    EXPECT_EQ(json::parse(client.request(make_request("GET", "/api/users")).body).size(), 0u);
}

TEST_F(SampleApi, ARepeatedIdempotencyKeyCreatesTheUserOnce) {
    const std::string body = R"({"name":"Ada","email":"ada@example.com"})";
    auto first = post_user(body, {{"Idempotency-Key", "6f1f4b7c"}});
    ASSERT_EQ(first.status, 201u);
    auto again = post_user(body, {{"idempotency-key", "6f1f4b7c"}});
    EXPECT_EQ(again.status, 201u);
    EXPECT_EQ(again.body, first.body);
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(
        post_user(R"({"name":"Eve","email":"eve@example.com"})", {{"Idempotency-Key", "6f1f4b7c"}})
            .status,
        422u);
    auto list = fetch(port_, "GET", "/api/users");
    EXPECT_EQ(json::parse(list.body).size(), 1u);
    EXPECT_TRUE(api_.wait_for_output("(repeat: answered from the key, nothing done)"));
}

TEST_F(SampleApi, BadInputIs400AndOversizedBodiesAre413) {
    auto bad = post_user(R"({"name":"Ada","email":"nope"})");
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(json::parse(bad.body)["error"], "invalid_user");

    http_client garbage(port_);
    auto malformed = garbage.request("GET /api/users HTTP/1.1\r\nHost x\r\n\r\n");
    EXPECT_EQ(malformed.status, 400u);
    EXPECT_TRUE(garbage.wait_closed(5s));

    // The head alone: the limit is known from Content-Length before any body byte is read (and a
    // client still sending a body when the server closes could see a reset instead).
    http_client large(port_);
    auto too_large =
        large.request("POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n");
    EXPECT_EQ(too_large.status, 413u);
    EXPECT_EQ(json::parse(too_large.body)["error"], "too_large");
    EXPECT_EQ(fetch(port_, "GET", "/api/health").status, 200u);  // still serving
}

TEST_F(SampleApi, StopsOnSigtermWithStatus0) {
    EXPECT_EQ(post_user(R"({"name":"Ada","email":"ada@example.com"})").status, 201u);
    EXPECT_EQ(api_.stop(), 0);
    EXPECT_NE(api_.stderr_text().find("1 users, 1 created"), std::string::npos)
        << api_.stderr_text();
}

TEST(SampleApiCommandLine, ABadListenAddressExits2NamingTheFlag) {
    auto result = run_command({bin_path("spillway-sample-api"), {"--listen", "nowhere"}}, 10s);
    EXPECT_EQ(result.exit_status, 2);
    EXPECT_NE(result.err.find("--listen"), std::string::npos) << result.err;
    auto help = run_command({bin_path("spillway-sample-api"), {"--help"}}, 10s);
    EXPECT_EQ(help.exit_status, 0);
    EXPECT_NE(help.out.find("--listen HOST:PORT"), std::string::npos) << help.out;
}

TEST(SampleApiCommandLine, APortInUseExits1) {
    const auto port = free_port();
    auto first = process::start(
        {bin_path("spillway-sample-api"), {"--listen", "127.0.0.1:" + std::to_string(port)}});
    ASSERT_TRUE(first.wait_for_port(port));
    auto second = run_command(
        {bin_path("spillway-sample-api"), {"--listen", "127.0.0.1:" + std::to_string(port)}}, 10s);
    EXPECT_EQ(second.exit_status, 1);
    EXPECT_NE(second.err.find("cannot listen"), std::string::npos) << second.err;
}

}  // namespace
}  // namespace spillway::test
