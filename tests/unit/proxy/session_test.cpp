// A session in process: run_session on one end of a loopback socket pair, the test writing
// requests on the other and reading the answers; a scripted backend on port 0 behind it.

#include "spillway/proxy/session.hpp"

#include "loopback.hpp"

#include <gtest/gtest.h>

namespace spillway::proxy {
namespace {

using test::scripted_backend;

// Answers every failure 503 and remembers it.
class recording_handler final : public failure_handler {
public:
    netx::task<client_response> handle(const client_request& req, const core::failure& failure,
                                       request_record& record,
                                       const config::capture_config&) override {
        failures.push_back(failure);
        record.queued = false;
        co_return make_json_response(http::status::service_unavailable, R"({"queued":false})",
                                     req.version(), req.keep_alive());
    }
    std::vector<core::failure> failures;
};

class SessionTest : public ::testing::Test {
protected:
    SessionTest() : backend_(ioc_) {
        cfg_.backend.endpoints = {{"127.0.0.1", backend_.port()}};
        worker_.emplace(ioc_.get_executor(), make_snapshot(cfg_), handler_, counters_, 0);
        net::co_spawn(ioc_, worker_->sweeper.run(), net::detached);
    }
    ~SessionTest() override { worker_->sweeper.stop(); }

    // Starts a session, writes `requests` to it and reads until it closes the connection.
    std::string exchange(std::string requests) {
        auto pair = test::connect_pair(ioc_);
        net::co_spawn(ioc_, run_session(std::move(pair.accepted), *worker_), net::detached);
        auto t = [&]() -> netx::task<std::string> {
            co_await net::async_write(pair.client, net::buffer(requests), netx::use_task);
            co_return co_await test::read_until_close(pair.client);
        };
        return test::run(ioc_, t());
    }

    static std::size_t count(const std::string& text, std::string_view what) {
        std::size_t n = 0;
        for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
            ++n;
        }
        return n;
    }

    net::io_context ioc_{1};
    scripted_backend backend_;
    config::config cfg_;
    recording_handler handler_;
    proxy_counters counters_;
    std::optional<worker_state> worker_;
};

TEST_F(SessionTest, ARequestIsReadForwardedAndAnswered) {
    backend_.script(test::ok_answer("from backend"));
    const auto got = exchange("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(got.find("HTTP/1.1 200 OK\r\n"), 0u);
    EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos);
    EXPECT_EQ(got.substr(got.size() - 12), "from backend");
    EXPECT_EQ(counters_.requests_proxied.load(), 1u);
    EXPECT_EQ(counters_.open_connections.load(), 0);
}

TEST_F(SessionTest, TheHealthCheckIsAnsweredByTheProxy) {
    const auto got = exchange("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(got.find("HTTP/1.1 200 OK\r\n"), 0u);
    EXPECT_EQ(got.substr(got.size() - 15), R"({"status":"ok"})");
    EXPECT_EQ(counters_.requests_local.load(), 1u);
    EXPECT_EQ(backend_.requests(), 0u);
}

TEST_F(SessionTest, TwoRequestsOnOneKeptAliveConnection) {
    backend_.script(test::ok_answer("one"));
    backend_.script(test::ok_answer("two"));
    const auto got = exchange(
        "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(count(got, "HTTP/1.1 200 OK\r\n"), 2u);
    EXPECT_LT(got.find("one"), got.find("two"));  // pipelined answers in order
    EXPECT_EQ(counters_.requests_proxied.load(), 2u);
    EXPECT_EQ(backend_.connections(), 1u);  // the upstream connection was pooled and reused
}

TEST_F(SessionTest, AMalformedRequestIs400AndTheConnectionCloses) {
    const auto got = exchange("GET /a HTTP/1.1\r\nHost x\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    EXPECT_EQ(got.find("HTTP/1.1 400 Bad Request\r\n"), 0u);
    EXPECT_NE(got.find(R"({"error":"malformed_request"})"), std::string::npos);
    EXPECT_EQ(count(got, "HTTP/1.1"), 1u);
    EXPECT_EQ(counters_.requests_rejected.load(), 1u);
    EXPECT_EQ(backend_.requests(), 0u);
}

TEST_F(SessionTest, ACaptureStatusGoesToTheFailureHandler) {
    backend_.script({"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"});
    const auto got =
        exchange("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    EXPECT_EQ(got.find("HTTP/1.1 503 Service Unavailable\r\n"), 0u);
    ASSERT_EQ(handler_.failures.size(), 1u);
    EXPECT_EQ(handler_.failures[0].kind, core::failure_kind::upstream_status);
    EXPECT_EQ(counters_.requests_captured.load(), 1u);
}

}  // namespace
}  // namespace spillway::proxy
