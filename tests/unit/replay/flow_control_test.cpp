#include "spillway/replay/flow_control.hpp"
#include "spillway/replay/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

using namespace std::chrono_literals;

TEST(PauseControl, PausesOnFirstReasonResumesWhenNoneLeft) {
    pause_control p;
    EXPECT_EQ(p.set(pause_reason::backend_down, true), pause_change::pause);
    EXPECT_EQ(p.set(pause_reason::backlog_full, true), pause_change::none);
    EXPECT_EQ(p.set(pause_reason::backend_down, false), pause_change::none)
        << "the backlog is still full";
    EXPECT_EQ(p.set(pause_reason::backlog_full, false), pause_change::resume);
    EXPECT_EQ(p.set(pause_reason::backlog_full, false), pause_change::none);
    EXPECT_FALSE(p.paused());
}

TEST(BackendGate, GoesDownOnceAndUpOnAnsweredProbe) {
    backend_gate g;
    EXPECT_EQ(g.on_connect_failure(), backend_gate::change::went_down);
    EXPECT_EQ(g.on_connect_failure(), backend_gate::change::none);
    EXPECT_EQ(g.on_probe(false), backend_gate::change::none);
    EXPECT_FALSE(g.up());
    EXPECT_EQ(g.on_probe(true), backend_gate::change::came_up);
    EXPECT_TRUE(g.up());
    EXPECT_EQ(g.on_connect_success(), backend_gate::change::none);
}

TEST(BacklogLimits, HysteresisBetweenHighAndLow) {
    backlog_limits l{10, 5};
    EXPECT_FALSE(l.full(9, false));
    EXPECT_TRUE(l.full(10, false));
    EXPECT_TRUE(l.full(6, true)) << "stays full until it drains to low";
    EXPECT_FALSE(l.full(5, true));
    EXPECT_GE(backlog_limits::for_concurrency(16).high, 16u);
}

TEST(RateLimiter, UnlimitedNeverWaits) {
    rate_limiter r(0);
    auto now = rate_limiter::clock::now();
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(r.acquire(now), rate_limiter::clock::duration::zero());
    }
}

TEST(RateLimiter, PacesRequestsAtTheRate) {
    rate_limiter r(10);  // burst of 1 at this rate
    auto t0 = rate_limiter::clock::time_point{} + 1h;
    EXPECT_EQ(r.acquire(t0), 0ms);
    EXPECT_EQ(r.acquire(t0), 100ms);
    EXPECT_EQ(r.acquire(t0), 200ms);
    // After a long idle spell it does not owe anything.
    EXPECT_EQ(r.acquire(t0 + 10s), 0ms);
}

TEST(RateLimiter, AllowsAShortBurstThenHoldsTheRate) {
    rate_limiter r(1000);  // burst of 50
    auto t0 = rate_limiter::clock::time_point{} + 1h;
    int immediate = 0;
    rate_limiter::clock::duration last{};
    for (int i = 0; i < 1000; ++i) {
        last = r.acquire(t0);
        immediate += last == rate_limiter::clock::duration::zero() ? 1 : 0;
    }
    EXPECT_EQ(immediate, 50);
    // 1000 requests at 1000/s: the last waits about one second minus the burst.
    EXPECT_GE(last, 940ms);
    EXPECT_LE(last, 960ms);
}

}  // namespace
}  // namespace spillway::replay
