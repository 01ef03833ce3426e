#include "spillway/replay/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

using namespace std::chrono_literals;

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
