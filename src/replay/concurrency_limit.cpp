#include "spillway/replay/concurrency_limit.hpp"

#include <algorithm>

namespace spillway::replay {

namespace {

bool says_too_much(unsigned status) {
    return status == 429 || status == 503;
}

// The backend did the work (or refused the request itself, a 4xx): it took this concurrency. A
// 500, 502 or 504 says neither way.
bool good_answer(unsigned status) {
    return status < 500 && status != 429;
}

bool delivered(unsigned status) {
    return status >= 200 && status < 400;
}

}  // namespace

void recent_minimum::add(clock::duration sample, clock::time_point now) {
    if (!bucket_start_ || now - *bucket_start_ >= 2 * window_) {
        previous_ = clock::duration::max();
        current_ = clock::duration::max();
        bucket_start_ = now;
    } else if (now - *bucket_start_ >= window_) {
        previous_ = current_;
        current_ = clock::duration::max();
        bucket_start_ = now;
    }
    current_ = std::min(current_, sample);
}

std::optional<recent_minimum::clock::duration> recent_minimum::value(clock::time_point now) const {
    if (!bucket_start_ || now - *bucket_start_ >= 2 * window_) {
        return std::nullopt;
    }
    // Past one window the previous bucket is older than 2 * window: only the current one counts.
    const auto m = now - *bucket_start_ >= window_ ? current_ : std::min(current_, previous_);
    if (m == clock::duration::max()) {
        return std::nullopt;
    }
    return m;
}

concurrency_limit::concurrency_limit(unsigned max, bool adaptive)
    : max_(std::max(max, 1u)), adaptive_(adaptive), limit_(max_) {}

void concurrency_limit::set_max(unsigned max) {
    const bool unhindered = limit_ >= max_;  // at its maximum, as it starts: the backend keeps up
    max_ = std::max(max, 1u);
    // Unhindered, it takes the new maximum at once, as it would have at start; held below the old
    // one by the backend, it stays where the backend put it (within the new one) and grows from
    // there by rounds.
    limit_ = !adaptive_ || unhindered ? max_ : std::min(limit_, max_);
}

void concurrency_limit::on_answer(ticket t, unsigned status, clock::duration latency,
                                  clock::time_point now) {
    if (!counts(t)) {
        return;
    }
    if (says_too_much(status)) {
        decrease();
        return;
    }
    if (delivered(status)) {
        block_sum_ += latency;
        if (++block_count_ == latency_block) {
            const auto mean = block_sum_ / latency_block;
            block_sum_ = {};
            block_count_ = 0;
            if (queueing(mean, now)) {
                decrease();
                return;
            }
        }
    }
    if (good_answer(status) && ++good_in_round_ >= limit_) {
        limit_ = std::min(limit_ + 1, max_);
        good_in_round_ = 0;
    }
}

void concurrency_limit::on_timeout(ticket t) {
    if (counts(t)) {
        decrease();
    }
}

bool concurrency_limit::queueing(clock::duration block_mean, clock::time_point now) {
    const auto recent = min_block_mean_.value(now);
    min_block_mean_.add(block_mean, now);
    const bool high = recent && block_mean > 2 * *recent && block_mean > *recent + queueing_margin;
    // Two blocks in a row: a backend's queue stays, while a stall of the replay's own (a CPU
    // shared with the backend and the broker, a page fault, a GC'd neighbour) passes in one.
    const bool queue = high && previous_block_high_;
    previous_block_high_ = high;
    return queue;
}

void concurrency_limit::decrease() {
    limit_ = std::max(limit_ / 2, 1u);
    start_round();
}

void concurrency_limit::on_outage_over() {
    if (adaptive_) {
        limit_ = 1;
        start_round();
    }
}

void concurrency_limit::start_round() {
    round_start_ = next_ticket_;
    good_in_round_ = 0;
    block_sum_ = {};
    block_count_ = 0;
    previous_block_high_ = false;
}

}  // namespace spillway::replay
