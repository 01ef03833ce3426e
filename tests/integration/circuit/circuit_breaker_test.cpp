// The circuit breaker over real sockets, one transition at a time, against backends that fail,
// go down and come back: closed -> open after failure_threshold capture-worthy failures (then
// no connection is attempted and requests are captured as circuit_open at once), open ->
// half-open after open_ms (exactly one probe reaches the backend, however many requests come),
// half-open -> closed when the probe succeeds, half-open -> open when it fails.

#include "circuit_suite.hpp"
#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"

#include <gtest/gtest.h>

#include <future>

namespace spillway::test::circuit_suite {
namespace {

using json = nlohmann::json;

bool is_capture(const response& res) {
    return res.status == 503 && res.body.find("\"queued\"") != std::string::npos;
}

// Sends GETs one after another until one is not captured (it reached the backend), for at most
// `timeout`; returns that response (or the last one). Each captured one is answered at once
// while the circuit is open, so this waits on the proxy's own state, not on a clock.
response get_until_not_captured(std::uint16_t port, const std::string& target,
                                std::chrono::milliseconds timeout, int* captured = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    response res;
    do {
        res = fetch(port, "GET", target);
        if (!is_capture(res)) {
            break;
        }
        if (captured != nullptr) {
            ++*captured;
        }
    } while (std::chrono::steady_clock::now() < deadline);
    return res;
}

TEST(CircuitBreaker, OpensAfterThresholdThenCapturesWithoutTouchingTheBackend) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    fake_backend backend;
    backend.on("/api", route{.status = 503});
    spillway_proxy p({backend.url(), broker.bootstrap(), spool.path(), breaker(3, 60000)});

    for (int i = 0; i < 3; ++i) {
        expect_captured(fetch(p.port(), "POST", "/api", {}, "x"));
    }
    EXPECT_EQ(backend.request_count(), 3u);
    ASSERT_EQ(circuit_state(p, backend.url()), 1.0);
    EXPECT_EQ(transitions(p, backend.url(), "open"), 1.0);
    EXPECT_TRUE(p.proc().wait_for_output(
        "circuit for backend " + endpoint_name(backend.url()) + " opened", 5s));

    const auto accepted = backend.accepted_connections();
    std::set<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        ids.insert(expect_captured(fetch(p.port(), "POST", "/api", {}, "y")));
    }
    // Nothing reached the backend: no request and no new connection.
    EXPECT_EQ(backend.request_count(), 3u);
    EXPECT_EQ(backend.accepted_connections(), accepted);
    EXPECT_EQ(p.metric("spillway_captured_total", {{"failure", "circuit_open"}, {"sink", "kafka"}}),
              5.0);
    EXPECT_EQ(
        p.metric("spillway_captured_total", {{"failure", "upstream_status"}, {"sink", "kafka"}}),
        3.0);

    const auto records = read_records(broker.bootstrap(), 8);
    int circuit_open = 0;
    for (const auto& r : records) {
        ASSERT_TRUE(r.envelope) << r.parse_error;
        EXPECT_EQ(r.envelope->upstream, endpoint_name(backend.url()));
        if (ids.contains(r.envelope->id)) {
            ++circuit_open;
            EXPECT_EQ(r.envelope->failure.kind, core::failure_kind::circuit_open);
            EXPECT_FALSE(r.envelope->failure.sent_upstream);
            EXPECT_EQ(r.message.header("spillway-failure"), "circuit_open");
        }
    }
    EXPECT_EQ(circuit_open, 5);
    expect_schema_valid(records);
}

TEST(CircuitBreaker, ARefusingBackendIsNotConnectedToWhileOpen) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    const auto dead = dead_backend_url();
    spillway_proxy p({dead, broker.bootstrap(), spool.path(), breaker(2, 60000)});

    expect_captured(fetch(p.port(), "GET", "/a"));
    expect_captured(fetch(p.port(), "GET", "/b"));
    ASSERT_EQ(circuit_state(p, dead), 1.0);
    ASSERT_EQ(connects(p, dead, "error"), 2.0);
    for (int i = 0; i < 10; ++i) {
        expect_captured(fetch(p.port(), "GET", "/c"));
    }
    EXPECT_EQ(connects(p, dead, "error"), 2.0) << "a connect was attempted";
    EXPECT_EQ(p.metric("spillway_captured_total", {{"failure", "circuit_open"}, {"sink", "kafka"}}),
              10.0);
    EXPECT_EQ(
        p.metric("spillway_captured_total", {{"failure", "connect_error"}, {"sink", "kafka"}}),
        2.0);
}

TEST(CircuitBreaker, BackendBackAfterOutageOneProbeThenClosed) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    fake_backend backend;
    auto settings = breaker(2, 300);
    settings["threads"] = 2;  // the circuit is shared by the workers
    settings["log"] = {{"level", "info"}};  // half-open and closed are logged at info
    spillway_proxy p({backend.url(), broker.bootstrap(), spool.path(), settings});
    ASSERT_EQ(fetch(p.port(), "GET", "/up").status, 200u);

    backend.go_down();
    expect_captured(fetch(p.port(), "GET", "/down1"));
    expect_captured(fetch(p.port(), "GET", "/down2"));
    ASSERT_EQ(circuit_state(p, backend.url()), 1.0);

    // The backend is back, but its answers are held: the probe stays in flight.
    backend.come_back();
    backend.hold_after(0);
    auto probe = std::async(std::launch::async,
                            [&] { return get_until_not_captured(p.port(), "/probe", 10s); });
    ASSERT_TRUE(backend.wait_for_requests(2, 10s)) << "no probe reached the backend";
    EXPECT_EQ(circuit_state(p, backend.url()), 2.0);
    EXPECT_EQ(transitions(p, backend.url(), "half_open"), 1.0);

    // While the probe is out, every other request is captured at once, on both workers.
    const auto during = run_load(
        {.port = p.port(), .connections = 8, .requests = 16, .method = "GET", .timeout = 10s});
    queued_ids(during, 16);
    EXPECT_EQ(backend.request_count(), 2u) << "more than one probe reached the backend";

    backend.release();
    const auto probed = probe.get();
    EXPECT_EQ(probed.status, 200u) << probed.body;
    ASSERT_TRUE(p.wait_for_metric("spillway_circuit_state",
                                  {{"endpoint", endpoint_name(backend.url())}}, 0.0));
    EXPECT_EQ(transitions(p, backend.url(), "closed"), 1.0);
    EXPECT_TRUE(p.proc().wait_for_output(
        "circuit for backend " + endpoint_name(backend.url()) + " closed", 5s));
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(fetch(p.port(), "GET", "/after").status, 200u);
    }
    EXPECT_EQ(backend.request_count(), 6u);
}

TEST(CircuitBreaker, AFailedProbeOpensTheCircuitAgain) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    const auto dead = dead_backend_url();
    spillway_proxy p({dead, broker.bootstrap(), spool.path(), breaker(1, 200)});

    expect_captured(fetch(p.port(), "GET", "/first"));
    ASSERT_EQ(transitions(p, dead, "open"), 1.0);
    // Requests are captured as circuit_open until the probe is let through; it fails at once.
    ASSERT_TRUE(wait_until(
        [&] {
            expect_captured(fetch(p.port(), "GET", "/poll"));
            return transitions(p, dead, "half_open") >= 1.0;
        },
        10s, 1ms));
    EXPECT_TRUE(p.wait_for_metric("spillway_circuit_transitions_total",
                                  {{"endpoint", endpoint_name(dead)}, {"to", "open"}}, 2.0));
    EXPECT_EQ(circuit_state(p, dead), 1.0);
    EXPECT_EQ(connects(p, dead, "error"), 2.0) << "the first request and one probe";
    EXPECT_EQ(transitions(p, dead, "closed"), 0.0);
    EXPECT_EQ(
        p.metric("spillway_captured_total", {{"failure", "connect_error"}, {"sink", "kafka"}}),
        2.0);
}

TEST(CircuitBreaker, PassedThroughErrorsAreNotFailures) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    fake_backend backend;
    backend.on("/500", route{.status = 500});
    backend.on("/404", route{.status = 404});
    spillway_proxy p({backend.url(), broker.bootstrap(), spool.path(), breaker(2, 60000)});
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(fetch(p.port(), "GET", i % 2 ? "/500" : "/404").status, i % 2 ? 500u : 404u);
    }
    EXPECT_EQ(circuit_state(p, backend.url()), 0.0);
    EXPECT_EQ(transitions(p, backend.url(), "open"), 0.0);
}

TEST(CircuitBreaker, DisabledByDefault) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    const auto dead = dead_backend_url();
    spillway_proxy p({dead, broker.bootstrap(), spool.path(), {}});
    for (int i = 0; i < 8; ++i) {
        expect_captured(fetch(p.port(), "GET", "/x"));
    }
    EXPECT_EQ(connects(p, dead, "error"), 8.0);
    EXPECT_EQ(circuit_state(p, dead), 0.0);
    EXPECT_EQ(p.metric("spillway_captured_total", {{"failure", "circuit_open"}, {"sink", "kafka"}}),
              0.0);
}

}  // namespace
}  // namespace spillway::test::circuit_suite
