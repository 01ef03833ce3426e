// The token bucket with an injected clock: burst, refill, fractional rates, Retry-After.

#include "spillway/proxy/rate_limit_bucket.hpp"

#include <gtest/gtest.h>

namespace spillway::proxy {
namespace {

using namespace std::chrono_literals;

const rate_clock::time_point t0{std::chrono::hours(1000)};

TEST(TokenBucket, AllowsExactlyTheBurstAtOnce) {
    const bucket_params p{1, 5};
    token_bucket b(p, t0);
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(b.take(p, t0).allowed) << i;
    }
    const auto refused = b.take(p, t0);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, 1s);
    EXPECT_FALSE(b.take(p, t0).allowed);  // refused requests take nothing, and get nothing back
}

TEST(TokenBucket, RefillsAtTheRate) {
    const bucket_params p{2, 2};  // a token every 500 ms
    token_bucket b(p, t0);
    EXPECT_TRUE(b.take(p, t0).allowed);
    EXPECT_TRUE(b.take(p, t0).allowed);
    EXPECT_FALSE(b.take(p, t0 + 499ms).allowed);
    EXPECT_TRUE(b.take(p, t0 + 500ms).allowed);
    EXPECT_FALSE(b.take(p, t0 + 500ms).allowed);
    EXPECT_TRUE(b.take(p, t0 + 1000ms).allowed);
}

TEST(TokenBucket, NeverHoldsMoreThanTheBurst) {
    const bucket_params p{10, 3};
    token_bucket b(p, t0);
    const auto later = t0 + 1h;
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(b.take(p, later).allowed) << i;
    }
    EXPECT_FALSE(b.take(p, later).allowed);
}

TEST(TokenBucket, FractionalRates) {
    const bucket_params p{0.5, 1};  // one request every two seconds
    token_bucket b(p, t0);
    EXPECT_TRUE(b.take(p, t0).allowed);
    auto refused = b.take(p, t0);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, 2s);
    refused = b.take(p, t0 + 1500ms);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, 1s);  // 0.5 s left, rounded up
    EXPECT_TRUE(b.take(p, t0 + 2s).allowed);
}

TEST(TokenBucket, RetryAfterIsTheWaitForTheNextTokenInWholeSeconds) {
    const bucket_params tiny{0.001, 1};  // one token per 1000 s
    token_bucket b(tiny, t0);
    ASSERT_TRUE(b.take(tiny, t0).allowed);
    EXPECT_EQ(b.take(tiny, t0).retry_after, 1000s);
    EXPECT_EQ(b.take(tiny, t0 + 1ms).retry_after, 1000s);  // 999.999 s rounds up
    EXPECT_EQ(b.take(tiny, t0 + 1s).retry_after, 999s);
    EXPECT_EQ(b.take(tiny, t0 + 999s + 500ms).retry_after, 1s);

    const bucket_params fast{100, 1};  // 10 ms to the next token: still at least 1 s
    token_bucket f(fast, t0);
    ASSERT_TRUE(f.take(fast, t0).allowed);
    EXPECT_EQ(f.take(fast, t0).retry_after, 1s);
}

TEST(TokenBucket, RetryAfterRounding) {
    EXPECT_EQ(retry_after_seconds(0), 1s);
    EXPECT_EQ(retry_after_seconds(0.001), 1s);
    EXPECT_EQ(retry_after_seconds(1), 1s);
    EXPECT_EQ(retry_after_seconds(1.0001), 2s);
    EXPECT_EQ(retry_after_seconds(1 / 0.001), 1000s);
    EXPECT_EQ(retry_after_seconds(1 / 0.3), 4s);
}

TEST(TokenBucket, AnEarlierTimeArrivingLateChangesNothing) {
    const bucket_params p{1, 1};
    token_bucket b(p, t0);
    ASSERT_TRUE(b.take(p, t0 + 10s).allowed);
    EXPECT_FALSE(b.take(p, t0 + 9s).allowed);  // another worker's slightly older clock reading
    EXPECT_EQ(b.updated(), t0 + 10s);
    EXPECT_TRUE(b.take(p, t0 + 11s).allowed);
}

TEST(TokenBucket, FullOnceRefilledCompletely) {
    const bucket_params p{1, 2};
    token_bucket b(p, t0);
    EXPECT_TRUE(b.full(p, t0));
    ASSERT_TRUE(b.take(p, t0).allowed);
    ASSERT_TRUE(b.take(p, t0).allowed);
    EXPECT_FALSE(b.full(p, t0 + 1s));
    EXPECT_TRUE(b.full(p, t0 + 2s));
}

}  // namespace
}  // namespace spillway::proxy
