// The shared, sharded rate limiter: separate buckets per client, the 429 answer, and the bound
// on how many clients it remembers.

#include "spillway/proxy/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace spillway::proxy {
namespace {

using namespace std::chrono_literals;

const rate_clock::time_point t0{std::chrono::hours(1000)};

config::rate_limit_config limits(double rps, unsigned burst, std::size_t max_clients = 65536) {
    config::rate_limit_config c;
    c.requests_per_second = rps;
    c.burst = burst;
    c.max_clients = max_clients;
    return c;
}

netx::ip_address nth_address(std::uint32_t n) {
    netx::ip_address a;
    a.bytes[0] = 0x20;
    a.bytes[1] = 0x01;
    for (int i = 0; i < 4; ++i) {
        a.bytes[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
    }
    return a;
}

TEST(RateLimiter, OffByDefault) {
    EXPECT_EQ(rate_limiter::from_config(config::rate_limit_config{}), nullptr);
    EXPECT_NE(rate_limiter::from_config(limits(0.5, 0)), nullptr);
}

TEST(RateLimiter, BurstDefaultsToOneSecondsWorth) {
    EXPECT_EQ(limits(0.2, 0).effective_burst(), 1);
    EXPECT_EQ(limits(10, 0).effective_burst(), 10);
    EXPECT_EQ(limits(2.5, 0).effective_burst(), 3);
    EXPECT_EQ(limits(10, 4).effective_burst(), 4);
}

TEST(RateLimiter, EachClientHasItsOwnBucket) {
    rate_limiter limiter(limits(0.001, 3));
    const auto a = *netx::parse_ip_address("127.0.0.2");
    const auto b = *netx::parse_ip_address("127.0.0.3");
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(limiter.admit(a, t0).allowed);
    }
    const auto refused = limiter.admit(a, t0);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after, 1000s);
    EXPECT_TRUE(limiter.admit(b, t0).allowed);
    EXPECT_EQ(limiter.tracked_clients(), 2u);
}

TEST(RateLimiter, WorkersShareTheBuckets) {
    rate_limiter limiter(limits(0.001, 100));
    const auto client = *netx::parse_ip_address("192.0.2.1");
    std::atomic<int> allowed{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                allowed += limiter.admit(client, t0).allowed ? 1 : 0;
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    EXPECT_EQ(allowed.load(), 100);  // the burst, not 4 x the burst
}

TEST(RateLimiter, UsesForwardedForOnlyFromTrustedProxies) {
    auto cfg = limits(0.001, 1);
    cfg.trusted_proxies.push_back(*netx::parse_ip_prefix("127.0.0.0/8"));
    rate_limiter limiter(cfg);
    client_request req{http::verb::get, "/", 11};
    req.insert("X-Forwarded-For", "198.51.100.1");
    EXPECT_TRUE(limiter.admit(req, "127.0.0.1", t0).allowed);
    EXPECT_FALSE(limiter.admit(req, "127.0.0.5", t0).allowed);  // same client, other proxy
    req.set("X-Forwarded-For", "198.51.100.2");
    EXPECT_TRUE(limiter.admit(req, "127.0.0.1", t0).allowed);
    EXPECT_FALSE(limiter.admit(req, "::ffff:127.0.0.1", t0).allowed);  // dual-stack peer
    EXPECT_TRUE(limiter.admit(req, "unknown", t0).allowed);  // no peer address: not keyed
}

TEST(RateLimiter, MemoryIsBoundedUnderAFloodOfAddresses) {
    rate_limiter limiter(limits(0.001, 5, 1024));
    EXPECT_EQ(limiter.max_per_shard(), 16u);
    for (std::uint32_t n = 0; n < 50000; ++n) {
        ASSERT_TRUE(limiter.admit(nth_address(n), t0 + std::chrono::microseconds(n)).allowed);
        if (n % 1000 == 0) {
            ASSERT_LE(limiter.tracked_clients(), 1024u) << n;
        }
    }
    EXPECT_LE(limiter.tracked_clients(), 1024u);
    EXPECT_GE(limiter.tracked_clients(), 1024u / 2);  // most of the bound is still in use
}

TEST(RateLimiter, RefilledBucketsAreForgottenBeforeBusyOnes) {
    rate_limiter limiter(limits(1, 5, 128));  // two buckets per shard
    ASSERT_EQ(limiter.max_per_shard(), 2u);
    const auto busy = nth_address(0);
    std::vector<netx::ip_address> same_shard;
    for (std::uint32_t n = 1; same_shard.size() < 2; ++n) {
        if (limiter.shard_of(nth_address(n)) == limiter.shard_of(busy)) {
            same_shard.push_back(nth_address(n));
        }
    }
    const auto idle = same_shard[0];
    const auto newcomer = same_shard[1];
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(limiter.admit(busy, t0).allowed);  // empty; full again at t0 + 5 s
    }
    ASSERT_TRUE(limiter.admit(idle, t0 + 1s).allowed);  // full again at t0 + 2 s
    // At t0 + 3 s the shard is full: `idle` is the one to go although `busy` was used less
    // recently, because forgetting a full bucket changes nothing.
    ASSERT_TRUE(limiter.admit(newcomer, t0 + 3s).allowed);
    EXPECT_EQ(limiter.tracked_clients(), 2u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(limiter.admit(busy, t0 + 3s).allowed) << i;  // 3 tokens refilled, not 5
    }
    EXPECT_FALSE(limiter.admit(busy, t0 + 3s).allowed);
}

TEST(RateLimiter, WithNoRefilledBucketTheLeastRecentlyUsedGo) {
    rate_limiter limiter(limits(0.001, 1, 64));  // one bucket per shard, no refill in the test
    const auto first = nth_address(0);
    netx::ip_address second;
    for (std::uint32_t n = 1;; ++n) {
        if (limiter.shard_of(nth_address(n)) == limiter.shard_of(first)) {
            second = nth_address(n);
            break;
        }
    }
    ASSERT_TRUE(limiter.admit(first, t0).allowed);
    ASSERT_FALSE(limiter.admit(first, t0).allowed);
    ASSERT_TRUE(limiter.admit(second, t0 + 1s).allowed);  // pushes `first` out
    EXPECT_TRUE(limiter.admit(first, t0 + 2s).allowed);  // forgotten: a full burst again
}

TEST(RateLimiter, AnswerIs429WithRetryAfterAndTheRequestId) {
    auto res = rate_limited_response(7s, "abc-123", 11, true);
    EXPECT_EQ(res.result_int(), 429u);
    EXPECT_EQ(res[http::field::retry_after], "7");
    EXPECT_EQ(res["X-Request-Id"], "abc-123");
    EXPECT_EQ(res[http::field::content_type], "application/json");
    EXPECT_EQ(res.body(), R"({"error":"rate_limited","request_id":"abc-123","retry_after":7})");
    EXPECT_TRUE(res.keep_alive());
}

}  // namespace
}  // namespace spillway::proxy
