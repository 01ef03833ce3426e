// The replay's backend client over real loopback sockets: what goes back to its pool, the retry
// of a pooled connection the backend closed, and how each failure is reported.

#include "spillway/replay/backend_client.hpp"

#include "unit/upstream/loopback_backend.hpp"

#include <boost/asio/co_spawn.hpp>
#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

using namespace std::chrono_literals;
using test::loopback_backend;
using test::run_until;

outgoing_request get(std::string target) {
    outgoing_request r;
    r.method = "GET";
    r.target = std::move(target);
    r.headers = {{"Host", "backend"}};
    r.idempotency_key = "id-1";
    return r;
}

class BackendClientTest : public ::testing::Test {
protected:
    void start_client(std::uint16_t port, std::string probe_path = "/") {
        cfg_.address = {"127.0.0.1", port};
        cfg_.connect_timeout = 1000ms;
        if (cfg_.response_timeout == config::backend_config{}.response_timeout) {
            cfg_.response_timeout = 2000ms;
        }
        client_.emplace(ioc_.get_executor(), cfg_, 4, std::move(probe_path));
    }

    std::optional<probe_result> probe() {
        std::optional<probe_result> result;
        net::co_spawn(ioc_, client_->probe(), [&](std::exception_ptr e, probe_result r) {
            if (!e) {
                result = std::move(r);
            }
        });
        run_until(ioc_, [&] { return result.has_value(); });
        return result;
    }

    // Sends on the client from a coroutine of the engine's kind (any_io_executor), bounded.
    std::optional<send_result> send(const outgoing_request& r) {
        std::optional<send_result> result;
        net::co_spawn(ioc_, client_->send(r, 1), [&](std::exception_ptr e, send_result s) {
            if (!e) {
                result = std::move(s);
            }
        });
        run_until(ioc_, [&] { return result.has_value(); });
        return result;
    }

    net::io_context ioc_;
    config::backend_config cfg_;
    std::optional<backend_client> client_;
};

TEST_F(BackendClientTest, ReusesAConnectionWhoseResponseWasReadWhole) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    start_client(backend.port());

    const auto first = send(get("/a"));
    const auto second = send(get("/b"));

    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->outcome, send_result::kind::response);
    EXPECT_EQ(second->status, 200u);
    EXPECT_EQ(backend.accepted(), 1u);
    EXPECT_EQ(backend.requests(), 2u);
}

// Before the shared core, this connection went back to the pool and the next request read the
// leftover bytes as its response.
TEST_F(BackendClientTest, ConnectionWithBytesAfterTheResponseIsNotReused) {
    loopback_backend backend(ioc_, [](std::size_t connection, auto) {
        auto r = test::ok();
        if (connection == 0) {
            r.bytes += "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        }
        return r;
    });
    start_client(backend.port());

    const auto first = send(get("/a"));
    const auto second = send(get("/b"));

    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->status, 200u);
    ASSERT_EQ(second->outcome, send_result::kind::response) << second->detail;
    EXPECT_EQ(second->status, 200u);  // not the stray 500
    EXPECT_EQ(backend.accepted(), 2u);
}

TEST_F(BackendClientTest, PooledConnectionClosedByTheBackendIsRetriedOnAFreshOne) {
    // The second request reaches the pooled connection and the backend closes it unanswered,
    // as a backend does when its keep-alive timeout fires at that moment.
    loopback_backend backend(ioc_, [](std::size_t connection, std::size_t request) {
        return connection == 0 && request == 1 ? test::close_without_answer() : test::ok();
    });
    start_client(backend.port());

    const auto first = send(get("/a"));
    const auto second = send(get("/b"));

    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->status, 200u);
    ASSERT_EQ(second->outcome, send_result::kind::response) << second->detail;
    EXPECT_EQ(second->status, 200u);
    EXPECT_EQ(backend.accepted(), 2u);
    EXPECT_EQ(backend.requests(), 3u);
}

TEST_F(BackendClientTest, ConnectionClosedWhileIdleIsNotUsed) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    start_client(backend.port());
    ASSERT_EQ(send(get("/a")).value().status, 200u);

    backend.close_connections();
    const auto second = send(get("/b"));

    ASSERT_TRUE(second);
    ASSERT_EQ(second->outcome, send_result::kind::response) << second->detail;
    EXPECT_EQ(backend.accepted(), 2u);
}

TEST_F(BackendClientTest, FreshConnectionClosedUnansweredIsATransportFailure) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::close_without_answer(); });
    start_client(backend.port());

    const auto sent = send(get("/a"));

    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->outcome, send_result::kind::transport_failed);
    EXPECT_EQ(backend.accepted(), 1u);  // no retry: the connection was not a pooled one
}

TEST_F(BackendClientTest, InterimResponseIsSkippedAndRetryAfterRead) {
    loopback_backend backend(ioc_, [](auto, auto) {
        return test::reply{
            "HTTP/1.1 100 Continue\r\n\r\n"
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n"
            "Content-Length: 4\r\n\r\nbusy"};
    });
    start_client(backend.port());

    const auto sent = send(get("/a"));

    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->outcome, send_result::kind::response);
    EXPECT_EQ(sent->status, 503u);
    EXPECT_EQ(sent->retry_after, std::chrono::milliseconds(7000));
}

TEST_F(BackendClientTest, RefusedConnectIsConnectFailed) {
    test::refusing_port refusing;
    start_client(refusing.port());

    const auto sent = send(get("/a"));
    const auto probed = probe();

    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->outcome, send_result::kind::connect_failed);
    EXPECT_NE(sent->detail.find("refused"), std::string::npos) << sent->detail;
    ASSERT_TRUE(probed);
    EXPECT_EQ(probed->status, std::nullopt);
    EXPECT_NE(probed->detail.find("refused"), std::string::npos) << probed->detail;
}

TEST_F(BackendClientTest, ProbeIsAGetOfTheProbePathOnANewConnection) {
    loopback_backend backend(ioc_, [](auto, auto) {
        return test::reply{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"};
    });
    start_client(backend.port(), "/healthz?deep=1");

    const auto first = probe();
    const auto second = probe();

    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->status, std::optional<unsigned>(503));
    ASSERT_EQ(backend.heads().size(), 2u);
    const auto& seen = backend.heads().front();
    EXPECT_EQ(seen.substr(0, seen.find("\r\n")), "GET /healthz?deep=1 HTTP/1.1");
    EXPECT_NE(seen.find("\r\nHost: 127.0.0.1:"), std::string::npos) << seen;
    EXPECT_NE(seen.find("\r\nConnection: close\r\n"), std::string::npos) << seen;
    EXPECT_EQ(backend.accepted(), 2u) << "never a pooled connection";
}

TEST_F(BackendClientTest, ProbeThatGetsNoAnswerInTimeHasNoStatus) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::reply{}; });  // never answers
    cfg_.response_timeout = 200ms;
    start_client(backend.port());

    const auto probed = probe();

    ASSERT_TRUE(probed);
    EXPECT_EQ(probed->status, std::nullopt);
}

TEST_F(BackendClientTest, CancellingAnExchangeClosesItsConnectionAtOnce) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::reply{}; });  // never answers
    start_client(backend.port());
    std::optional<send_result> result;
    exchange_cancel cancel;
    const auto request = get("/a");
    net::co_spawn(ioc_, client_->send(request, 1, &cancel),
                  [&](std::exception_ptr, send_result s) { result = std::move(s); });
    ASSERT_TRUE(run_until(ioc_, [&] { return backend.requests() == 1; }));
    const auto started = std::chrono::steady_clock::now();

    cancel.cancel();

    ASSERT_TRUE(run_until(ioc_, [&] { return result.has_value(); }));
    EXPECT_EQ(result->outcome, send_result::kind::aborted);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1000ms) << "not the response timeout";
    EXPECT_EQ(backend.accepted(), 1u);
}

TEST_F(BackendClientTest, CloseAllAbortsASendInProgressAndLaterSends) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::reply{}; });  // never answers
    start_client(backend.port());
    std::optional<send_result> in_progress;
    const auto request = get("/a");
    net::co_spawn(ioc_, client_->send(request, 1),
                  [&](std::exception_ptr, send_result s) { in_progress = std::move(s); });
    ASSERT_TRUE(run_until(ioc_, [&] { return backend.requests() == 1; }));

    client_->close_all();

    ASSERT_TRUE(run_until(ioc_, [&] { return in_progress.has_value(); }));
    EXPECT_EQ(in_progress->outcome, send_result::kind::aborted);
    EXPECT_EQ(send(get("/b")).value().outcome, send_result::kind::aborted);
}

}  // namespace
}  // namespace spillway::replay
