// Several backend endpoints (backend.endpoints): round-robin over the endpoints that take
// requests; a connect failure moves on to the next endpoint for any method, a failure after the
// request was sent only for idempotent methods, so a POST never reaches two backends; a request
// is captured only when no endpoint could take it.

#include "circuit_suite.hpp"
#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"

#include <gtest/gtest.h>

namespace spillway::test::circuit_suite {
namespace {

std::size_t count_target(const fake_backend& b, const std::string& method,
                         const std::string& target) {
    std::size_t n = 0;
    for (const auto& r : b.requests()) {
        n += r.method == method && r.target == target ? 1 : 0;
    }
    return n;
}

TEST(BackendEndpoints, ThreeBackendsOneDeadAllRequestsSucceedRoundRobinAmongTheLive) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    const auto dead = dead_backend_url();
    fake_backend b;
    fake_backend c;
    spillway_proxy p({dead, broker.bootstrap(), spool.path(),
                      endpoints({dead, b.url(), c.url()}, breaker(2, 60000))});

    http_client client(p.port());
    for (int i = 0; i < 30; ++i) {
        const std::string method = i % 3 == 0 ? "POST" : "GET";
        const auto res = client.request(
            make_request(method, "/r/" + std::to_string(i), {}, method == "POST" ? "body" : ""));
        ASSERT_FALSE(res.error) << res.error.message();
        EXPECT_EQ(res.status, 200u) << "request " << i << ": " << res.body;
    }
    // Two connect failures opened the dead endpoint's circuit; after that it was skipped.
    EXPECT_EQ(connects(p, dead, "error"), 2.0);
    EXPECT_EQ(circuit_state(p, dead), 1.0);
    EXPECT_EQ(b.request_count() + c.request_count(), 30u);
    // Round-robin among the two live ones once the dead one is skipped: strictly alternating.
    const auto rb = b.requests();
    const auto rc = c.requests();
    auto served_by_b = [&](int i) {
        const std::string target = "/r/" + std::to_string(i);
        for (const auto& r : rb) {
            if (r.target == target) {
                return true;
            }
        }
        return false;
    };
    int alternations = 0;
    for (int i = 11; i < 30; ++i) {
        alternations += served_by_b(i) != served_by_b(i - 1) ? 1 : 0;
    }
    EXPECT_EQ(alternations, 19) << "b served " << rb.size() << ", c served " << rc.size();
    EXPECT_LE(rb.size() > rc.size() ? rb.size() - rc.size() : rc.size() - rb.size(), 2u);
    // The outcome is counted once the response is written: the client may read the last one first.
    EXPECT_TRUE(p.wait_for_metric("spillway_requests_total", {{"outcome", "proxied"}}, 30.0))
        << "proxied: "
        << p.metric("spillway_requests_total", {{"outcome", "proxied"}}).value_or(-1);
}

TEST(BackendEndpoints, WithoutTheBreakerADeadEndpointCostsAConnectEachTurnButNoRequest) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    const auto dead = dead_backend_url();
    fake_backend b;
    fake_backend c;
    spillway_proxy p({dead, broker.bootstrap(), spool.path(), endpoints({b.url(), dead, c.url()})});
    http_client client(p.port());
    for (int i = 0; i < 12; ++i) {
        const auto res = client.request(make_request("POST", "/p", {}, "x"));
        EXPECT_EQ(res.status, 200u) << res.body;
    }
    EXPECT_EQ(connects(p, dead, "error"), 4.0);
    EXPECT_EQ(b.request_count() + c.request_count(), 12u);
}

TEST(BackendEndpoints, APostIsNeverSentToTwoBackendsAGetMovesOn) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    fake_backend first;
    fake_backend second;
    first.on("/flaky", route{.close_without_answer = true});
    spillway_proxy p(
        {first.url(), broker.bootstrap(), spool.path(), endpoints({first.url(), second.url()})});
    http_client client(p.port());

    // Round-robin starts at the first endpoint: it reads the POST and closes without answering.
    const auto id = expect_captured(client.request(make_request("POST", "/flaky", {}, "pay")));
    EXPECT_EQ(count_target(first, "POST", "/flaky"), 1u);
    EXPECT_EQ(count_target(second, "POST", "/flaky"), 0u) << "a POST reached two backends";

    ASSERT_EQ(client.request(make_request("GET", "/other")).status, 200u);  // the second's turn
    // The first endpoint's turn again: it resets the GET, which moves on to the second.
    const auto get = client.request(make_request("GET", "/flaky"));
    EXPECT_EQ(get.status, 200u) << get.body;
    EXPECT_EQ(get.body, "GET /flaky");
    EXPECT_EQ(count_target(first, "GET", "/flaky"), 1u);
    EXPECT_EQ(count_target(second, "GET", "/flaky"), 1u);

    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    ASSERT_TRUE(records[0].envelope) << records[0].parse_error;
    const auto& e = *records[0].envelope;
    EXPECT_EQ(e.id, id);
    EXPECT_EQ(e.failure.kind, core::failure_kind::upstream_reset);
    EXPECT_TRUE(e.failure.sent_upstream);
    EXPECT_EQ(e.upstream, endpoint_name(first.url()));
}

TEST(BackendEndpoints, CapturedOnlyWhenNoEndpointCouldTakeIt) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    fake_backend up;
    up.on("/busy", route{.status = 503});
    fake_backend reset;
    reset.on("/busy", route{.close_without_answer = true});
    const auto dead = dead_backend_url();
    spillway_proxy p(
        {dead, broker.bootstrap(), spool.path(), endpoints({up.url(), reset.url(), dead})});

    // A GET tries all three: 503 from the first, a reset after sending from the second, a
    // refused connect from the third. The envelope names the last one and its failure, and says
    // the request was sent (the first two received it).
    const auto id = expect_captured(fetch(p.port(), "GET", "/busy"));
    EXPECT_EQ(up.request_count(), 1u);
    EXPECT_EQ(reset.request_count(), 1u);
    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    ASSERT_TRUE(records[0].envelope) << records[0].parse_error;
    EXPECT_EQ(records[0].envelope->id, id);
    EXPECT_EQ(records[0].envelope->failure.kind, core::failure_kind::connect_error);
    EXPECT_TRUE(records[0].envelope->failure.sent_upstream);
    EXPECT_EQ(records[0].envelope->upstream, endpoint_name(dead));
}

TEST(BackendEndpoints, EveryCircuitOpenIsCapturedAtOnceWithoutAConnect) {
    devbroker broker;
    temp_dir spool("spillway-circuit-spool");
    const auto dead1 = dead_backend_url();
    const auto dead2 = dead_backend_url();
    spillway_proxy p(
        {dead1, broker.bootstrap(), spool.path(), endpoints({dead1, dead2}, breaker(1, 60000))});

    expect_captured(fetch(p.port(), "POST", "/x", {}, "1"));  // both refuse: both circuits open
    ASSERT_EQ(circuit_state(p, dead1), 1.0);
    ASSERT_EQ(circuit_state(p, dead2), 1.0);
    const auto id = expect_captured(fetch(p.port(), "POST", "/x", {}, "2"));
    EXPECT_EQ(connects(p, dead1, "error"), 1.0);
    EXPECT_EQ(connects(p, dead2, "error"), 1.0);

    const auto records = read_records(broker.bootstrap(), 2);
    ASSERT_EQ(records.size(), 2u);
    for (const auto& r : records) {
        ASSERT_TRUE(r.envelope) << r.parse_error;
        if (r.envelope->id == id) {
            EXPECT_EQ(r.envelope->failure.kind, core::failure_kind::circuit_open);
            EXPECT_FALSE(r.envelope->failure.sent_upstream);
            EXPECT_NE(r.envelope->failure.detail.find("every backend endpoint"), std::string::npos)
                << r.envelope->failure.detail;
        } else {
            EXPECT_EQ(r.envelope->failure.kind, core::failure_kind::connect_error);
            EXPECT_EQ(r.envelope->upstream, endpoint_name(dead2));  // the last one tried
        }
    }
}

}  // namespace
}  // namespace spillway::test::circuit_suite
