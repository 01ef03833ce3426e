#include "spillway/replay/retry_policy.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

using namespace std::chrono_literals;

backoff fixed_backoff(double r = 0.999999) {
    return backoff(100ms, 1000ms, [r] { return r; });
}

TEST(ClassifyStatus, FollowsTheContract) {
    EXPECT_EQ(classify_status(200), status_class::delivered);
    EXPECT_EQ(classify_status(204), status_class::delivered);
    EXPECT_EQ(classify_status(302), status_class::delivered);
    EXPECT_EQ(classify_status(400), status_class::dead_letter);
    EXPECT_EQ(classify_status(404), status_class::dead_letter);
    EXPECT_EQ(classify_status(422), status_class::dead_letter);
    EXPECT_EQ(classify_status(408), status_class::retry);
    EXPECT_EQ(classify_status(429), status_class::retry);
    EXPECT_EQ(classify_status(500), status_class::retry);
    EXPECT_EQ(classify_status(503), status_class::retry);
    EXPECT_EQ(classify_status(101), status_class::retry);
    EXPECT_EQ(classify_status(600), status_class::retry);
}

TEST(Backoff, GrowsExponentiallyUpToTheMaximum) {
    auto b = fixed_backoff();
    EXPECT_EQ(b.ceiling(1), 100ms);
    EXPECT_EQ(b.ceiling(2), 200ms);
    EXPECT_EQ(b.ceiling(4), 800ms);
    EXPECT_EQ(b.ceiling(5), 1000ms);
    EXPECT_EQ(b.ceiling(1000), 1000ms);
}

TEST(Backoff, JitterStaysBetweenHalfAndFull) {
    EXPECT_EQ(backoff(100ms, 1s, [] { return 0.0; }).delay(3), 200ms);
    EXPECT_EQ(backoff(100ms, 1s, [] { return 0.5; }).delay(3), 300ms);
    backoff real(100ms, 1s);
    for (int i = 0; i < 100; ++i) {
        auto d = real.delay(2);
        EXPECT_GE(d, 100ms);
        EXPECT_LE(d, 200ms);
    }
}

TEST(ReplayFsm, DeliveredOnFirstSuccess) {
    auto b = fixed_backoff();
    replay_fsm fsm(10, b);
    auto a = fsm.start();
    EXPECT_EQ(a.kind, action_kind::send);
    EXPECT_EQ(a.attempt, 1u);
    a = fsm.on_response(201);
    EXPECT_EQ(a.kind, action_kind::delivered);
    EXPECT_EQ(fsm.attempts(), 1u);
}

TEST(ReplayFsm, TwoServiceUnavailableWhileTheProbeSaysUpThenOkIsDeliveredOnAttemptThree) {
    auto b = fixed_backoff(0.0);
    replay_fsm fsm(10, b);
    EXPECT_EQ(fsm.start().attempt, 1u);
    auto a = fsm.on_response(503);
    EXPECT_EQ(a.kind, action_kind::probe);
    EXPECT_EQ(fsm.attempts(), 0u) << "not counted before the probe has spoken";
    a = fsm.on_probe(true);
    EXPECT_EQ(a.kind, action_kind::wait_backoff);
    EXPECT_EQ(a.delay, 50ms);
    EXPECT_EQ(fsm.attempts(), 1u);
    a = fsm.on_backoff_elapsed();
    EXPECT_EQ(a.kind, action_kind::send);
    EXPECT_EQ(a.attempt, 2u);
    EXPECT_EQ(fsm.on_response(503).kind, action_kind::probe);
    a = fsm.on_probe(true);
    EXPECT_EQ(a.kind, action_kind::wait_backoff);
    EXPECT_EQ(a.delay, 100ms);
    a = fsm.on_backoff_elapsed();
    EXPECT_EQ(a.attempt, 3u);
    a = fsm.on_response(200);
    EXPECT_EQ(a.kind, action_kind::delivered);
    EXPECT_EQ(a.attempt, 3u);
}

TEST(ReplayFsm, ClientErrorIsDeadLetteredAtOnce) {
    auto b = fixed_backoff();
    replay_fsm fsm(10, b);
    fsm.start();
    auto a = fsm.on_response(404);
    EXPECT_EQ(a.kind, action_kind::dead_letter);
    EXPECT_EQ(a.last_status, std::optional<unsigned>(404));
    EXPECT_NE(a.reason.find("404"), std::string::npos);
    EXPECT_EQ(a.attempt, 1u);
}

TEST(ReplayFsm, DeadLetteredAfterMaxAttempts) {
    auto b = fixed_backoff();
    replay_fsm fsm(3, b);
    fsm.start();
    EXPECT_EQ(fsm.on_response(500).kind, action_kind::wait_backoff);
    fsm.on_backoff_elapsed();
    EXPECT_EQ(fsm.on_response(429).kind, action_kind::wait_backoff);
    fsm.on_backoff_elapsed();
    EXPECT_EQ(fsm.on_response(502).kind, action_kind::probe);
    auto a = fsm.on_probe(true);
    EXPECT_EQ(a.kind, action_kind::dead_letter);
    EXPECT_EQ(a.attempt, 3u);
    EXPECT_EQ(a.last_status, std::optional<unsigned>(502));
    EXPECT_NE(a.reason.find("max attempts (3)"), std::string::npos) << a.reason;
}

TEST(ReplayFsm, ConnectFailuresAreNotAttempts) {
    auto b = fixed_backoff();
    replay_fsm fsm(2, b);
    fsm.start();
    for (int i = 0; i < 100; ++i) {
        auto a = fsm.on_connect_failure();
        EXPECT_EQ(a.kind, action_kind::wait_backend);
        a = fsm.on_backend_up();
        EXPECT_EQ(a.kind, action_kind::send);
        EXPECT_EQ(a.attempt, 1u) << "an outage must not use up attempts";
    }
    EXPECT_EQ(fsm.on_response(200).kind, action_kind::delivered);
}

TEST(ReplayFsm, TransportFailureCountsWhenTheProbeSaysUp) {
    auto b = fixed_backoff();
    replay_fsm fsm(2, b);
    fsm.start();
    EXPECT_EQ(fsm.on_transport_failure("timeout").kind, action_kind::probe);
    EXPECT_EQ(fsm.on_probe(true).kind, action_kind::wait_backoff);
    fsm.on_backoff_elapsed();
    EXPECT_EQ(fsm.on_transport_failure("connection reset").kind, action_kind::probe);
    auto a = fsm.on_probe(true);
    EXPECT_EQ(a.kind, action_kind::dead_letter);
    EXPECT_EQ(a.last_status, std::nullopt);
    EXPECT_NE(a.reason.find("connection reset"), std::string::npos) << a.reason;
}

TEST(ReplayFsm, OutageStatusesConfirmedByTheProbeAreNeverCounted) {
    auto b = fixed_backoff();
    replay_fsm fsm(2, b);
    EXPECT_EQ(fsm.start().attempt, 1u);
    for (int i = 0; i < 100; ++i) {
        const unsigned status = 502 + i % 3;
        auto a = fsm.on_response(status);
        ASSERT_EQ(a.kind, action_kind::probe) << status;
        EXPECT_EQ(a.attempt, 1u);
        a = fsm.on_probe(false);
        ASSERT_EQ(a.kind, action_kind::wait_backend);
        EXPECT_EQ(a.delay, 0ms);
        a = fsm.on_backend_up();
        EXPECT_EQ(a.kind, action_kind::send);
        EXPECT_EQ(a.attempt, 1u) << "a 503 from a down backend must not use up attempts";
    }
    EXPECT_EQ(fsm.on_transport_failure("timeout").kind, action_kind::probe);
    EXPECT_EQ(fsm.on_probe(false).kind, action_kind::wait_backend);
    EXPECT_EQ(fsm.on_backend_up().attempt, 1u) << "nor a reset or timeout during an outage";
    EXPECT_EQ(fsm.attempts(), 0u);
    EXPECT_EQ(fsm.on_response(200).kind, action_kind::delivered);
    EXPECT_EQ(fsm.attempts(), 1u);
}

TEST(ReplayFsm, OtherRetryableStatusesCountWithoutAProbe) {
    auto b = fixed_backoff();
    for (unsigned status : {500u, 501u, 507u, 408u, 429u, 599u}) {
        replay_fsm fsm(5, b);
        fsm.start();
        const auto a = fsm.on_response(status);
        EXPECT_EQ(a.kind, action_kind::wait_backoff) << status;
        EXPECT_EQ(fsm.attempts(), 1u) << status;
    }
}

TEST(ReplayFsm, ServiceUnavailableForOneMessageWhileUpIsDeadLetteredAfterMaxAttempts) {
    auto b = fixed_backoff();
    replay_fsm fsm(3, b);
    auto a = fsm.start();
    for (unsigned n = 1; n <= 3; ++n) {
        EXPECT_EQ(a.attempt, n);
        EXPECT_EQ(fsm.on_response(503).kind, action_kind::probe);
        a = fsm.on_probe(true);
        if (n < 3) {
            ASSERT_EQ(a.kind, action_kind::wait_backoff);
            a = fsm.on_backoff_elapsed();
        }
    }
    EXPECT_EQ(a.kind, action_kind::dead_letter);
    EXPECT_EQ(a.attempt, 3u);
    EXPECT_EQ(a.last_status, std::optional<unsigned>(503));
    EXPECT_NE(a.reason.find("max attempts (3) reached, last: status 503"), std::string::npos)
        << a.reason;
}

TEST(ReplayFsm, AProbeWithoutAFailureWaitingJustSends) {
    auto b = fixed_backoff();
    replay_fsm fsm(3, b);
    fsm.start();
    const auto a = fsm.on_probe(false);
    EXPECT_EQ(a.kind, action_kind::send);
    EXPECT_EQ(a.attempt, 1u);
}

TEST(ReplayFsm, PriorAttemptsCountTowardsTheLimit) {
    auto b = fixed_backoff();
    replay_fsm fsm(5, b, 3);
    EXPECT_EQ(fsm.start().attempt, 4u);
    replay_fsm exhausted(5, b, 5);
    EXPECT_EQ(exhausted.start().kind, action_kind::dead_letter);
}

TEST(ReplayFsm, RetryAfterIsHonouredWithinTheCeiling) {
    auto b = fixed_backoff(0.0);
    replay_fsm fsm(10, b);
    fsm.start();
    EXPECT_EQ(fsm.on_response(503, 700ms).kind, action_kind::probe);
    EXPECT_EQ(fsm.on_probe(true).delay, 700ms);
    fsm.on_backoff_elapsed();
    EXPECT_EQ(fsm.on_response(429, 3600s).delay, 1000ms) << "capped at backoff_max";
    fsm.on_backoff_elapsed();
    EXPECT_EQ(fsm.on_response(429, 1ms).delay, 200ms) << "never shorter than the backoff";
}

TEST(ReplayFsm, RetryAfterCountsOnlyOn429And503) {
    auto b = fixed_backoff(0.0);
    replay_fsm fsm(10, b);
    fsm.start();
    EXPECT_EQ(fsm.on_response(500, 900ms).delay, 50ms);
    fsm.on_backoff_elapsed();
    EXPECT_EQ(fsm.on_response(502, 900ms).kind, action_kind::probe);
    EXPECT_EQ(fsm.on_probe(true).delay, 100ms);
}

TEST(ReplayFsm, RetryAfterOfAnOutageStillHoldsTheNextAttempt) {
    auto b = fixed_backoff(0.0);
    replay_fsm fsm(10, b);
    fsm.start();
    fsm.on_response(503, 700ms);
    auto a = fsm.on_probe(false);
    EXPECT_EQ(a.kind, action_kind::wait_backend);
    EXPECT_EQ(a.delay, 700ms);
    fsm.on_backend_up();
    fsm.on_response(503, 3600s);
    EXPECT_EQ(fsm.on_probe(false).delay, 1000ms) << "capped at backoff_max";
}

}  // namespace
}  // namespace spillway::replay
