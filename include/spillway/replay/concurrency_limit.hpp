#pragma once
// How many requests the replay lets be on the wire at once: additive increase, multiplicative
// decrease (DESIGN.md, "The replay consumer"), between 1 and replay.concurrency, the way TCP moves
// its congestion window and Netflix's concurrency-limits moves its AIMD limit. Sans-I/O, with the
// time passed in, so that every rule below is unit-tested.
//
// - A 429 or a 503 halves the limit, once per round: every send takes a ticket, and an answer to a
//   request sent before the last decrease says nothing about the new limit. (Without that rule the
//   28 refusals of one burst of 32 would halve it 28 times, to 1, for a single overload.)
// - A latency well above the recent minimum halves it too: a backend queues before it refuses.
//   So does a response timeout (once per round as well), the end of such a queue.
//   Judged on blocks of 16 delivered answers, so that one slow request of a mixed traffic is not
//   taken for a queue: two blocks in a row whose means are more than twice the recent minimum of
//   block means and more than 10 ms above it (one such block is as often the replay's own stall,
//   on a CPU it shares, as the backend's queue). "Recent": see recent_minimum.
// - A round of good answers (as many as the limit) adds one.
// - After an outage it starts again from 1, so a recovering backend gets a ramp, not the backlog.
// - It starts at the maximum: a backend that keeps up pays nothing for the pacing.
// With replay.adaptive false the limit is replay.concurrency whatever happens.

#include <chrono>
#include <cstdint>
#include <optional>

namespace spillway::replay {

// The minimum of the samples of the last `window` to 2 * `window` (two buckets: the current one
// and the one before), so that a minimum from another time (another build of the backend, a cache
// since gone cold) does not hold forever.
class recent_minimum {
public:
    using clock = std::chrono::steady_clock;

    explicit recent_minimum(clock::duration window) : window_(window) {}

    void add(clock::duration sample, clock::time_point now);
    // Nothing when no sample is recent.
    std::optional<clock::duration> value(clock::time_point now) const;

private:
    clock::duration window_;
    std::optional<clock::time_point> bucket_start_;
    clock::duration current_ = clock::duration::max();
    clock::duration previous_ = clock::duration::max();
};

class concurrency_limit {
public:
    using clock = std::chrono::steady_clock;
    using ticket = std::uint64_t;  // which send an answer belongs to

    static constexpr unsigned latency_block = 16;  // delivered answers per latency judgement
    static constexpr auto min_window = std::chrono::seconds(30);
    static constexpr auto queueing_margin = std::chrono::milliseconds(10);

    concurrency_limit(unsigned max, bool adaptive);

    unsigned value() const { return limit_; }
    unsigned max() const { return max_; }
    bool adaptive() const { return adaptive_; }

    // A new replay.concurrency (a reload): a limit at its maximum takes the new one at once; a
    // limit the backend holds below it stays (within the new one).
    void set_max(unsigned max);

    // A request goes on the wire; pass the ticket back with its answer.
    ticket on_send() { return next_ticket_++; }
    // The answer to the request of `t`, `latency` after it was sent.
    void on_answer(ticket t, unsigned status, clock::duration latency, clock::time_point now);
    // The request of `t` got no full answer within backend.response_timeout_ms: the clearest
    // queueing there is. Halves the limit, once per round like a 503.
    void on_timeout(ticket t);
    // The backend was down and answers again.
    void on_outage_over();

private:
    // Whether what became of the request of `t` moves the limit: not when pacing is off, nor when
    // it was sent before the last decrease (it describes a limit no longer in force).
    bool counts(ticket t) const { return adaptive_ && t >= round_start_; }
    void decrease();
    void start_round();  // forget the answers counted toward an increase or a latency judgement
    bool queueing(clock::duration block_mean, clock::time_point now);

    unsigned max_;
    bool adaptive_;
    unsigned limit_;
    ticket next_ticket_ = 0;
    ticket round_start_ = 0;  // tickets before it were sent before the last change down
    unsigned good_in_round_ = 0;
    clock::duration block_sum_{};
    unsigned block_count_ = 0;
    bool previous_block_high_ = false;  // the last block's mean was over the queueing threshold
    recent_minimum min_block_mean_{min_window};
};

}  // namespace spillway::replay
