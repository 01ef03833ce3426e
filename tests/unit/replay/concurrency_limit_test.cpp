// The replay's AIMD concurrency limit, with the time passed in.

#include "spillway/replay/concurrency_limit.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace spillway::replay {
namespace {

using namespace std::chrono_literals;
using clock = concurrency_limit::clock;
using ticket = concurrency_limit::ticket;

// `n` requests sent together (a burst): their tickets.
std::vector<ticket> send(concurrency_limit& c, unsigned n) {
    std::vector<ticket> out;
    for (unsigned i = 0; i < n; ++i) {
        out.push_back(c.on_send());
    }
    return out;
}

// Answers to `sent`, each `latency` after it was sent, one millisecond apart from `t`.
void answer(concurrency_limit& c, const std::vector<ticket>& sent, unsigned status,
            clock::duration latency, clock::time_point& t) {
    for (const auto k : sent) {
        t += 1ms;
        c.on_answer(k, status, latency, t);
    }
}

// `n` requests one after the other, each answered before the next is sent.
void exchanges(concurrency_limit& c, unsigned n, unsigned status, clock::duration latency,
               clock::time_point& t) {
    for (unsigned i = 0; i < n; ++i) {
        answer(c, send(c, 1), status, latency, t);
    }
}

TEST(ConcurrencyLimit, StartsAtTheMaximumAndStaysThereWhileAnswersAreGood) {
    concurrency_limit c(16, true);
    clock::time_point t{};
    EXPECT_EQ(c.value(), 16u);
    exchanges(c, 1000, 200, 2ms, t);
    EXPECT_EQ(c.value(), 16u);
}

TEST(ConcurrencyLimit, ABurstOf503sHalvesItOnceNotOncePerAnswer) {
    concurrency_limit c(32, true);
    clock::time_point t{};
    const auto burst = send(c, 32);
    answer(c, {burst.begin(), burst.begin() + 4}, 200, 20ms, t);  // the backend took 4
    answer(c, {burst.begin() + 4, burst.end()}, 503, 20ms, t);  // and refused the other 28
    EXPECT_EQ(c.value(), 16u);
}

TEST(ConcurrencyLimit, A503ToARequestSentAfterTheDecreaseHalvesItAgain) {
    concurrency_limit c(32, true);
    clock::time_point t{};
    const auto first = send(c, 32);
    answer(c, {first.front()}, 503, 1ms, t);
    EXPECT_EQ(c.value(), 16u);
    const auto second = send(c, 16);  // sent at the new limit
    answer(c, {first.begin() + 1, first.end()}, 503, 1ms, t);  // the rest of the old burst
    EXPECT_EQ(c.value(), 16u);
    answer(c, second, 503, 1ms, t);
    EXPECT_EQ(c.value(), 8u);
    exchanges(c, 1, 429, 1ms, t);  // 429 says the same
    EXPECT_EQ(c.value(), 4u);
}

TEST(ConcurrencyLimit, EachRoundOfGoodAnswersAddsOne) {
    concurrency_limit c(16, true);
    clock::time_point t{};
    const auto before = send(c, 16);
    exchanges(c, 1, 503, 1ms, t);
    EXPECT_EQ(c.value(), 8u);
    answer(c, before, 200, 1ms, t);  // sent before the decrease: they say nothing about 8
    EXPECT_EQ(c.value(), 8u);
    exchanges(c, 7, 200, 1ms, t);
    EXPECT_EQ(c.value(), 8u);
    exchanges(c, 1, 200, 1ms, t);  // a round: as many good answers as the limit
    EXPECT_EQ(c.value(), 9u);
    exchanges(c, 9, 404, 1ms, t);  // a 4xx is the backend's own answer: good for the pacing
    EXPECT_EQ(c.value(), 10u);
    exchanges(c, 30, 500, 1ms, t);  // a 500 says neither way
    EXPECT_EQ(c.value(), 10u);
}

TEST(ConcurrencyLimit, NeverBelowOneNorAboveTheMaximum) {
    concurrency_limit c(16, true);
    clock::time_point t{};
    exchanges(c, 50, 503, 1ms, t);
    EXPECT_EQ(c.value(), 1u);
    exchanges(c, 10000, 200, 1ms, t);
    EXPECT_EQ(c.value(), 16u);
}

TEST(ConcurrencyLimit, LatencyWellAboveTheRecentMinimumHalvesIt) {
    concurrency_limit c(16, true);
    clock::time_point t{};
    exchanges(c, 16, 200, 5ms, t);
    EXPECT_EQ(c.value(), 16u);
    exchanges(c, 16, 200, 12ms, t);  // over twice the minimum, but not 10 ms over it: jitter
    EXPECT_EQ(c.value(), 16u);
    exchanges(c, 16, 200, 40ms, t);  // a queue building up at the backend
    EXPECT_EQ(c.value(), 16u) << "one block could be a stall of the replay's own";
    exchanges(c, 16, 200, 40ms, t);  // it stays: a queue
    EXPECT_EQ(c.value(), 8u);
}

TEST(ConcurrencyLimit, OneSlowBlockBetweenFastOnesIsAStallNotAQueue) {
    concurrency_limit c(16, true);
    clock::time_point t{};
    exchanges(c, 16, 200, 3ms, t);
    exchanges(c, 16, 200, 30ms, t);  // the replay starved of CPU for a moment
    exchanges(c, 16, 200, 3ms, t);
    exchanges(c, 16, 200, 30ms, t);  // and again, but never twice in a row
    exchanges(c, 16, 200, 3ms, t);
    EXPECT_EQ(c.value(), 16u);
}

TEST(ConcurrencyLimit, OneSlowRequestAmongFastOnesIsNoQueue) {
    concurrency_limit c(16, true);
    clock::time_point t{};
    exchanges(c, 16, 200, 5ms, t);
    exchanges(c, 15, 200, 5ms, t);
    exchanges(c, 1, 200, 100ms, t);  // block mean about 11 ms: under twice plus the margin
    EXPECT_EQ(c.value(), 16u);
}

TEST(ConcurrencyLimit, TheRecentMinimumForgetsWhatIsOlderThanTwoWindows) {
    recent_minimum m(30s);
    clock::time_point t{};
    EXPECT_FALSE(m.value(t).has_value());
    m.add(1ms, t);
    EXPECT_EQ(m.value(t + 29s), 1ms);
    m.add(50ms, t + 40s);  // a new bucket: the old one is still recent
    EXPECT_EQ(m.value(t + 40s), 1ms);
    EXPECT_EQ(m.value(t + 71s), 50ms);  // the 1 ms bucket has aged out
    EXPECT_FALSE(m.value(t + 101s).has_value());
    m.add(60ms, t + 200s);  // long idle: nothing before counts
    EXPECT_EQ(m.value(t + 200s), 60ms);
}

TEST(ConcurrencyLimit, ALatencyThatStaysUpBecomesTheNewNormal) {
    concurrency_limit c(4, true);
    clock::time_point t{};
    exchanges(c, 16, 200, 1ms, t);
    t += 61s;  // two windows later the 1 ms minimum is forgotten
    exchanges(c, 64, 200, 50ms, t);
    EXPECT_EQ(c.value(), 4u) << "50 ms is the new normal, not a queue";
}

TEST(ConcurrencyLimit, ResponseTimeoutsHalveItOncePerRoundAndNotWhenOff) {
    concurrency_limit c(32, true);
    const auto burst = send(c, 32);
    for (const auto k : burst) {
        c.on_timeout(k);  // a backend whose queue outgrew backend.response_timeout_ms
    }
    EXPECT_EQ(c.value(), 16u) << "one round, one halving";
    c.on_timeout(c.on_send());
    EXPECT_EQ(c.value(), 8u) << "a request sent after the decrease timed out too";

    concurrency_limit off(32, false);
    off.on_timeout(off.on_send());
    EXPECT_EQ(off.value(), 32u);
}

TEST(ConcurrencyLimit, AfterAnOutageItStartsFromOneAndRampsByOnePerRound) {
    concurrency_limit c(16, true);
    clock::time_point t{};
    const auto before = send(c, 16);
    c.on_outage_over();
    EXPECT_EQ(c.value(), 1u);
    answer(c, before, 200, 1ms, t);  // answers from before the outage do not ramp it
    EXPECT_EQ(c.value(), 1u);
    exchanges(c, 1, 200, 1ms, t);
    EXPECT_EQ(c.value(), 2u);
    exchanges(c, 2, 200, 1ms, t);
    EXPECT_EQ(c.value(), 3u);
    exchanges(c, 3, 200, 1ms, t);
    EXPECT_EQ(c.value(), 4u);
}

TEST(ConcurrencyLimit, OffItIsTheConfiguredConcurrencyWhateverHappens) {
    concurrency_limit c(16, false);
    clock::time_point t{};
    exchanges(c, 50, 503, 100ms, t);
    c.on_outage_over();
    exchanges(c, 50, 200, 500ms, t);
    EXPECT_EQ(c.value(), 16u);
    c.set_max(8);
    EXPECT_EQ(c.value(), 8u);
}

TEST(ConcurrencyLimit, ANewMaximumIsTakenAtOnceUnlessTheBackendHoldsTheLimitBelow) {
    concurrency_limit c(16, true);
    clock::time_point t{};
    c.set_max(4);
    EXPECT_EQ(c.value(), 4u);
    c.set_max(32);
    EXPECT_EQ(c.value(), 32u) << "at its maximum, as it starts: a reload raises it at once";
    c.on_answer(c.on_send(), 503, 1ms, t);
    EXPECT_EQ(c.value(), 16u);
    c.set_max(64);
    EXPECT_EQ(c.value(), 16u) << "held below by the backend: it grows there by rounds";
    exchanges(c, 16, 200, 1ms, t);
    EXPECT_EQ(c.value(), 17u);
    c.set_max(8);
    EXPECT_EQ(c.value(), 8u);
    c.set_max(0);
    EXPECT_EQ(c.value(), 1u);
}

}  // namespace
}  // namespace spillway::replay
