// The forward phase's failure policy, stepped event by event: one test per row of the failure
// matrix (docs/ARCHITECTURE.md), the stale pooled connection, failover, refused endpoints, a
// failure after a head began, and the round-robin cursor.

#include "spillway/proxy/failure_policy.hpp"

#include <gtest/gtest.h>

namespace spillway::proxy {
namespace {

using core::failure_kind;
using http_verb = boost::beast::http::verb;

failure_rules make_rules() {
    failure_rules rules;
    for (unsigned status : {502u, 503u, 504u}) {
        rules.capture_on.set(status);
    }
    rules.response_timeout = std::chrono::milliseconds(250);
    return rules;
}

const failure_rules rules = make_rules();

void expect_step(const forward_action& a, forward_step step, std::size_t endpoint,
                 verdict report = verdict::none) {
    EXPECT_EQ(a.step, step);
    EXPECT_EQ(a.endpoint, endpoint);
    EXPECT_EQ(a.report, report);
}

// Drives one endpoint from admission to a written request on a new (not pooled) connection.
void reach_read_head(failure_policy& p, std::size_t endpoint, bool reused = false) {
    expect_step(p.on_admission(true), forward_step::acquire, endpoint);
    expect_step(p.on_connected(reused), forward_step::write_request, endpoint);
    expect_step(p.on_written(120), forward_step::read_head, endpoint);
}

TEST(FailurePolicy, AnyOtherStatusIsRelayedAndCountsAsSuccess) {
    for (unsigned status : {200u, 201u, 404u, 500u, 501u}) {
        failure_policy p(rules, 1, 0, false);
        expect_step(p.start(), forward_step::admit, 0);
        reach_read_head(p, 0);
        expect_step(p.on_head(status, "x"), forward_step::relay, 0, verdict::success);
        expect_step(p.on_relayed(), forward_step::done, 0);
    }
}

TEST(FailurePolicy, ConnectErrorIsCapturedAsNotSent) {
    failure_policy p(rules, 1, 0, false);
    p.start();
    expect_step(p.on_admission(true), forward_step::acquire, 0);
    expect_step(p.on_connect_failed("Connection refused"), forward_step::capture, 0,
                verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::connect_error);
    EXPECT_FALSE(p.failure().sent_upstream);
    EXPECT_EQ(p.failure().detail, "Connection refused");
}

TEST(FailurePolicy, NoHeadInTimeIsATimeoutSentUpstream) {
    failure_policy p(rules, 1, 0, false);
    p.start();
    reach_read_head(p, 0);
    expect_step(p.on_head_failed(upstream_error::timeout, "ignored"), forward_step::capture, 0,
                verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::timeout);
    EXPECT_TRUE(p.failure().sent_upstream);
    EXPECT_EQ(p.failure().detail, "no response head within 250 ms");
}

TEST(FailurePolicy, CaptureStatusIsUpstreamStatus) {
    for (unsigned status : {502u, 503u, 504u}) {
        failure_policy p(rules, 1, 0, false);
        p.start();
        reach_read_head(p, 0);
        expect_step(p.on_head(status, "Bad"), forward_step::capture, 0, verdict::failure);
        EXPECT_EQ(p.failure().kind, failure_kind::upstream_status);
        EXPECT_EQ(p.failure().status, status);
        EXPECT_TRUE(p.failure().sent_upstream);
        EXPECT_EQ(p.failure().detail, "Bad");
    }
}

TEST(FailurePolicy, ResetBeforeTheHeadIsUpstreamReset) {
    failure_policy p(rules, 1, 0, false);
    p.start();
    reach_read_head(p, 0);
    expect_step(p.on_head_failed(upstream_error::closed, "Connection reset by peer"),
                forward_step::capture, 0, verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::upstream_reset);
    EXPECT_TRUE(p.failure().sent_upstream);
    EXPECT_EQ(p.failure().detail, "Connection reset by peer");
}

TEST(FailurePolicy, ResetBeforeAnyByteWasWrittenIsNotSent) {
    failure_policy p(rules, 1, 0, false);
    p.start();
    expect_step(p.on_admission(true), forward_step::acquire, 0);
    expect_step(p.on_connected(false), forward_step::write_request, 0);
    expect_step(p.on_write_failed(0, upstream_error::closed, "Broken pipe"), forward_step::capture,
                0, verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::upstream_reset);
    EXPECT_FALSE(p.failure().sent_upstream);
}

TEST(FailurePolicy, AWriteTimeoutAfterSomeBytesIsATimeoutSent) {
    failure_policy p(rules, 1, 0, true);
    p.start();
    p.on_admission(true);
    p.on_connected(false);
    expect_step(p.on_write_failed(10, upstream_error::timeout, "timeout"), forward_step::capture, 0,
                verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::timeout);
    EXPECT_TRUE(p.failure().sent_upstream);
}

// The proxy out of descriptors: not the backend's failure. No verdict for its circuit, no
// capture, no other endpoint tried; the request is answered overloaded.
TEST(FailurePolicy, NoLocalSocketIsOverloadedNotAConnectError) {
    failure_policy p(rules, 3, 0, true);
    expect_step(p.start(), forward_step::admit, 0);
    expect_step(p.on_admission(true), forward_step::acquire, 0);
    expect_step(p.on_local_exhaustion(), forward_step::overloaded, 0, verdict::none);
}

// Also when the stale pooled connection's retry is what needs the new socket.
TEST(FailurePolicy, NoLocalSocketForTheRetryIsOverloaded) {
    failure_policy p(rules, 1, 0, false);
    p.start();
    expect_step(p.on_admission(true), forward_step::acquire, 0);
    expect_step(p.on_connected(true), forward_step::write_request, 0);
    expect_step(p.on_write_failed(0, upstream_error::closed, "EPIPE"), forward_step::reconnect, 0);
    expect_step(p.on_local_exhaustion(), forward_step::overloaded, 0, verdict::none);
}

// After a real failure of an earlier endpoint (its verdict already reported), the next
// endpoint's missing socket is still not counted against that endpoint.
TEST(FailurePolicy, NoLocalSocketAfterAFailoverIsOverloaded) {
    failure_policy p(rules, 2, 0, true);
    p.start();
    expect_step(p.on_admission(true), forward_step::acquire, 0);
    expect_step(p.on_connect_failed("Connection refused"), forward_step::admit, 1,
                verdict::failure);
    expect_step(p.on_admission(true), forward_step::acquire, 1);
    expect_step(p.on_local_exhaustion(), forward_step::overloaded, 1, verdict::none);
}

TEST(FailurePolicy, NoEndpointAdmittingIsCircuitOpen) {
    failure_policy p(rules, 3, 4, false);  // starts at 4 % 3 = 1
    expect_step(p.start(), forward_step::admit, 1);
    expect_step(p.on_admission(false), forward_step::admit, 2);
    expect_step(p.on_admission(false), forward_step::admit, 0);
    expect_step(p.on_admission(false), forward_step::capture, 1);  // names the first endpoint
    EXPECT_EQ(p.failure().kind, failure_kind::circuit_open);
    EXPECT_FALSE(p.failure().sent_upstream);
    EXPECT_EQ(p.cursor(), 4u);  // unchanged: nothing took the request
}

TEST(FailurePolicy, StalePooledConnectionIsRetriedOnceOnANewOne) {
    // Non-idempotent, nothing written: the backend cannot have acted.
    failure_policy p(rules, 1, 0, false);
    p.start();
    expect_step(p.on_admission(true), forward_step::acquire, 0);
    expect_step(p.on_connected(true), forward_step::write_request, 0);
    expect_step(p.on_write_failed(0, upstream_error::closed, "Broken pipe"),
                forward_step::reconnect, 0);
    expect_step(p.on_connected(false), forward_step::write_request, 0);
    expect_step(p.on_written(120), forward_step::read_head, 0);
    expect_step(p.on_head(201, "Created"), forward_step::relay, 0, verdict::success);
}

TEST(FailurePolicy, StalePooledConnectionWithBytesWrittenIsRetriedOnlyWhenIdempotent) {
    failure_policy get(rules, 1, 0, true);
    get.start();
    reach_read_head(get, 0, true);
    expect_step(get.on_head_failed(upstream_error::closed, "EOF"), forward_step::reconnect, 0);

    failure_policy post(rules, 1, 0, false);
    post.start();
    reach_read_head(post, 0, true);
    expect_step(post.on_head_failed(upstream_error::closed, "EOF"), forward_step::capture, 0,
                verdict::failure);
    EXPECT_EQ(post.failure().kind, failure_kind::upstream_reset);
    EXPECT_TRUE(post.failure().sent_upstream);
}

TEST(FailurePolicy, TheRetryOnANewConnectionHappensOnce) {
    failure_policy p(rules, 1, 0, true);
    p.start();
    reach_read_head(p, 0, true);
    expect_step(p.on_head_failed(upstream_error::closed, "EOF"), forward_step::reconnect, 0);
    expect_step(p.on_connected(false), forward_step::write_request, 0);
    expect_step(p.on_written(120), forward_step::read_head, 0);
    expect_step(p.on_head_failed(upstream_error::closed, "EOF"), forward_step::capture, 0,
                verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::upstream_reset);
}

TEST(FailurePolicy, ATimeoutOnAPooledConnectionIsNotRetried) {
    failure_policy p(rules, 1, 0, true);
    p.start();
    reach_read_head(p, 0, true);
    expect_step(p.on_head_failed(upstream_error::timeout, ""), forward_step::capture, 0,
                verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::timeout);
}

TEST(FailurePolicy, TheNewConnectionFailingIsAConnectError) {
    failure_policy p(rules, 1, 0, true);
    p.start();
    reach_read_head(p, 0, true);
    expect_step(p.on_head_failed(upstream_error::closed, "EOF"), forward_step::reconnect, 0);
    expect_step(p.on_connect_failed("Connection refused"), forward_step::capture, 0,
                verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::connect_error);
    EXPECT_FALSE(p.failure().sent_upstream);
}

TEST(FailurePolicy, IdempotentRequestFailsOverAcrossEveryEndpoint) {
    failure_policy p(rules, 3, 0, is_idempotent(http_verb::get));
    expect_step(p.start(), forward_step::admit, 0);
    reach_read_head(p, 0);
    expect_step(p.on_head(503, "Unavailable"), forward_step::admit, 1, verdict::failure);
    reach_read_head(p, 1);
    expect_step(p.on_head_failed(upstream_error::timeout, ""), forward_step::admit, 2,
                verdict::failure);
    expect_step(p.on_admission(true), forward_step::acquire, 2);
    expect_step(p.on_connect_failed("Connection refused"), forward_step::capture, 2,
                verdict::failure);
    // The last failure, but sent: the first two endpoints received the request.
    EXPECT_EQ(p.failure().kind, failure_kind::connect_error);
    EXPECT_TRUE(p.failure().sent_upstream);
}

TEST(FailurePolicy, IdempotentRequestStopsAtTheFirstAnswer) {
    failure_policy p(rules, 3, 0, true);
    p.start();
    p.on_admission(true);
    expect_step(p.on_connect_failed("refused"), forward_step::admit, 1, verdict::failure);
    reach_read_head(p, 1);
    expect_step(p.on_head(200, "OK"), forward_step::relay, 1, verdict::success);
    expect_step(p.on_relayed(), forward_step::done, 1);
}

TEST(FailurePolicy, NonIdempotentRequestFailsOverOnlyWhileNothingWasSent) {
    failure_policy p(rules, 3, 0, is_idempotent(http_verb::post));
    p.start();
    p.on_admission(true);
    expect_step(p.on_connect_failed("refused"), forward_step::admit, 1, verdict::failure);
    reach_read_head(p, 1);
    expect_step(p.on_head(502, "Bad Gateway"), forward_step::capture, 1, verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::upstream_status);
    EXPECT_TRUE(p.failure().sent_upstream);
}

TEST(FailurePolicy, NonIdempotentRequestWithEveryConnectFailingIsNotSent) {
    failure_policy p(rules, 2, 0, false);
    p.start();
    p.on_admission(true);
    expect_step(p.on_connect_failed("refused"), forward_step::admit, 1, verdict::failure);
    p.on_admission(true);
    expect_step(p.on_connect_failed("unreachable"), forward_step::capture, 1, verdict::failure);
    EXPECT_EQ(p.failure().kind, failure_kind::connect_error);
    EXPECT_FALSE(p.failure().sent_upstream);
    EXPECT_EQ(p.failure().detail, "unreachable");
}

TEST(FailurePolicy, RefusedEndpointsAreSkipped) {
    failure_policy p(rules, 3, 0, false);
    expect_step(p.start(), forward_step::admit, 0);
    expect_step(p.on_admission(false), forward_step::admit, 1);
    reach_read_head(p, 1);
    expect_step(p.on_head(200, "OK"), forward_step::relay, 1, verdict::success);
    EXPECT_EQ(p.cursor(), 2u);
}

TEST(FailurePolicy, ARefusedEndpointAfterAFailureKeepsTheFailure) {
    failure_policy p(rules, 2, 0, true);
    p.start();
    reach_read_head(p, 0);
    expect_step(p.on_head(504, "Timeout"), forward_step::admit, 1, verdict::failure);
    expect_step(p.on_admission(false), forward_step::capture, 0);  // names the last tried
    EXPECT_EQ(p.failure().kind, failure_kind::upstream_status);
    EXPECT_TRUE(p.failure().sent_upstream);
}

TEST(FailurePolicy, FailureAfterA2xxHeadBeforeTheClientGotAByteIsCaptured) {
    failure_policy reset(rules, 1, 0, false);
    reset.start();
    reach_read_head(reset, 0);
    expect_step(reset.on_head(200, "OK"), forward_step::relay, 0, verdict::success);
    // The circuit already had its verdict: nothing more is reported.
    expect_step(reset.on_body_failed(upstream_error::closed, "end of stream", false),
                forward_step::capture, 0);
    EXPECT_EQ(reset.failure().kind, failure_kind::upstream_reset);
    EXPECT_TRUE(reset.failure().sent_upstream);
    EXPECT_EQ(reset.failure().detail, "response body: end of stream");

    failure_policy timeout(rules, 1, 0, false);
    timeout.start();
    reach_read_head(timeout, 0);
    timeout.on_head(200, "OK");
    expect_step(timeout.on_body_failed(upstream_error::timeout, "timeout", false),
                forward_step::capture, 0);
    EXPECT_EQ(timeout.failure().kind, failure_kind::timeout);
}

TEST(FailurePolicy, FailureAfterA2xxHeadBeforeTheClientGotAByteFailsOverWhenIdempotent) {
    failure_policy p(rules, 2, 0, true);
    p.start();
    reach_read_head(p, 0);
    p.on_head(200, "OK");
    expect_step(p.on_body_failed(upstream_error::closed, "eof", false), forward_step::admit, 1);
}

TEST(FailurePolicy, FailureAfterTheClientGotABytesAborts) {
    failure_policy p(rules, 2, 0, true);
    p.start();
    reach_read_head(p, 0);
    p.on_head(200, "OK");
    expect_step(p.on_body_failed(upstream_error::closed, "eof", true), forward_step::abort, 0);

    failure_policy client_gone(rules, 1, 0, true);
    client_gone.start();
    reach_read_head(client_gone, 0);
    client_gone.on_head(200, "OK");
    expect_step(client_gone.on_client_write_failed(), forward_step::abort, 0);
}

TEST(FailurePolicy, CursorMovesPastTheFirstEndpointThatAdmitted) {
    failure_policy p(rules, 3, 2, true);
    expect_step(p.start(), forward_step::admit, 2);
    p.on_admission(true);
    EXPECT_EQ(p.cursor(), 3u);
    p.on_connect_failed("refused");
    p.on_admission(true);  // endpoint 0 takes it after the failure: the cursor stays
    EXPECT_EQ(p.cursor(), 3u);
}

TEST(FailurePolicy, IdempotentMethods) {
    for (auto v : {http_verb::get, http_verb::head, http_verb::put, http_verb::delete_,
                   http_verb::options, http_verb::trace}) {
        EXPECT_TRUE(is_idempotent(v));
    }
    for (auto v : {http_verb::post, http_verb::patch, http_verb::connect}) {
        EXPECT_FALSE(is_idempotent(v));
    }
}

}  // namespace
}  // namespace spillway::proxy
