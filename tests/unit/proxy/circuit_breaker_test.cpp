// The circuit breaker's state machine, transition by transition, with the time given by the test.

#include "spillway/proxy/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace spillway::proxy {
namespace {

using namespace std::chrono_literals;
using time_point = circuit_breaker::time_point;

class CircuitBreakerTest : public ::testing::Test {
protected:
    circuit_breaker breaker{{3, 1000ms}};
    time_point t0 = time_point{} + 100s;

    // Lets a request through while closed and reports its verdict.
    std::optional<circuit_state> closed_request(verdict v, time_point at) {
        const auto step = breaker.admit(at);
        EXPECT_EQ(step.granted.how, admission::pass);
        EXPECT_FALSE(step.entered);
        return breaker.report(step.granted, v, at);
    }

    void open_it(time_point at) {
        closed_request(verdict::failure, at);
        closed_request(verdict::failure, at);
        ASSERT_EQ(closed_request(verdict::failure, at), circuit_state::open);
    }
};

TEST_F(CircuitBreakerTest, StartsClosedAndPassesRequests) {
    EXPECT_EQ(breaker.state(), circuit_state::closed);
    EXPECT_EQ(breaker.admit(t0).granted.how, admission::pass);
}

TEST_F(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
    EXPECT_FALSE(closed_request(verdict::failure, t0));
    EXPECT_FALSE(closed_request(verdict::failure, t0));
    EXPECT_EQ(breaker.consecutive_failures(), 2u);
    EXPECT_EQ(closed_request(verdict::failure, t0), circuit_state::open);
    EXPECT_EQ(breaker.state(), circuit_state::open);
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheCount) {
    closed_request(verdict::failure, t0);
    closed_request(verdict::failure, t0);
    EXPECT_FALSE(closed_request(verdict::success, t0));
    EXPECT_EQ(breaker.consecutive_failures(), 0u);
    closed_request(verdict::failure, t0);
    EXPECT_FALSE(closed_request(verdict::failure, t0));
    EXPECT_EQ(breaker.state(), circuit_state::closed);
    EXPECT_EQ(closed_request(verdict::failure, t0), circuit_state::open);
}

TEST_F(CircuitBreakerTest, NoVerdictNeitherCountsNorResets) {
    closed_request(verdict::failure, t0);
    closed_request(verdict::none, t0);
    EXPECT_EQ(breaker.consecutive_failures(), 1u);
}

TEST_F(CircuitBreakerTest, OpenRefusesUntilOpenDurationPassed) {
    open_it(t0);
    EXPECT_EQ(breaker.admit(t0).granted.how, admission::refuse);
    EXPECT_EQ(breaker.admit(t0 + 999ms).granted.how, admission::refuse);
    EXPECT_EQ(breaker.state(), circuit_state::open);
}

TEST_F(CircuitBreakerTest, AfterOpenDurationExactlyOneProbeIsAdmitted) {
    open_it(t0);
    const auto probe = breaker.admit(t0 + 1000ms);
    EXPECT_EQ(probe.granted.how, admission::probe);
    EXPECT_EQ(probe.entered, circuit_state::half_open);
    EXPECT_EQ(breaker.state(), circuit_state::half_open);
    // Everything else is refused while the probe is out, however long it takes.
    for (auto later : {1000ms, 1500ms, 5000ms}) {
        const auto other = breaker.admit(t0 + later);
        EXPECT_EQ(other.granted.how, admission::refuse);
        EXPECT_FALSE(other.entered);
    }
}

TEST_F(CircuitBreakerTest, ProbeSuccessCloses) {
    open_it(t0);
    const auto probe = breaker.admit(t0 + 2s).granted;
    EXPECT_EQ(breaker.report(probe, verdict::success, t0 + 2s), circuit_state::closed);
    EXPECT_EQ(breaker.state(), circuit_state::closed);
    EXPECT_EQ(breaker.consecutive_failures(), 0u);
    EXPECT_EQ(breaker.admit(t0 + 2s).granted.how, admission::pass);
}

TEST_F(CircuitBreakerTest, ProbeFailureOpensAgainForOpenDurationFromThen) {
    open_it(t0);
    const auto at = t0 + 3s;
    const auto probe = breaker.admit(at).granted;
    EXPECT_EQ(breaker.report(probe, verdict::failure, at), circuit_state::open);
    EXPECT_EQ(breaker.admit(at + 999ms).granted.how, admission::refuse);
    const auto next = breaker.admit(at + 1000ms);
    EXPECT_EQ(next.granted.how, admission::probe);
    EXPECT_EQ(next.entered, circuit_state::half_open);
}

TEST_F(CircuitBreakerTest, AProbeGivenBackWithoutVerdictLetsTheNextRequestProbe) {
    open_it(t0);
    const auto probe = breaker.admit(t0 + 1s).granted;
    EXPECT_FALSE(breaker.report(probe, verdict::none, t0 + 1s));
    EXPECT_EQ(breaker.state(), circuit_state::half_open);
    const auto next = breaker.admit(t0 + 1s);
    EXPECT_EQ(next.granted.how, admission::probe);
    EXPECT_FALSE(next.entered);  // still the same half-open period
    EXPECT_EQ(breaker.admit(t0 + 1s).granted.how, admission::refuse);
}

TEST_F(CircuitBreakerTest, LateVerdictsOfRequestsAdmittedBeforeTheOpeningAreIgnored) {
    // Two requests let through while closed are still out when the circuit opens.
    const auto early_success = breaker.admit(t0).granted;
    const auto early_failure = breaker.admit(t0).granted;
    open_it(t0);
    EXPECT_FALSE(breaker.report(early_success, verdict::success, t0));
    EXPECT_EQ(breaker.state(), circuit_state::open);  // a late success does not close it
    // Nor after the circuit closed again: they belong to an earlier closed period.
    const auto probe = breaker.admit(t0 + 1s).granted;
    breaker.report(probe, verdict::success, t0 + 1s);
    EXPECT_FALSE(breaker.report(early_failure, verdict::failure, t0 + 1s));
    EXPECT_EQ(breaker.consecutive_failures(), 0u);
}

TEST_F(CircuitBreakerTest, AFullCycleCanRepeat) {
    for (int cycle = 0; cycle < 3; ++cycle) {
        const auto at = t0 + std::chrono::seconds(10 * cycle);
        open_it(at);
        const auto probe = breaker.admit(at + 1s);
        ASSERT_EQ(probe.granted.how, admission::probe);
        ASSERT_EQ(breaker.report(probe.granted, verdict::success, at + 1s), circuit_state::closed);
    }
}

TEST_F(CircuitBreakerTest, ThresholdOneOpensOnTheFirstFailure) {
    circuit_breaker one{{1, 50ms}};
    const auto t = one.admit(t0).granted;
    EXPECT_EQ(one.report(t, verdict::failure, t0), circuit_state::open);
}

TEST(CircuitStateNames, AreTheMetricLabels) {
    EXPECT_EQ(to_string(circuit_state::closed), "closed");
    EXPECT_EQ(to_string(circuit_state::open), "open");
    EXPECT_EQ(to_string(circuit_state::half_open), "half_open");
}

}  // namespace
}  // namespace spillway::proxy
