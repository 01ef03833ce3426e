#include "spillway/proxy/rate_limit_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace spillway::proxy {

namespace {

double seconds_between(rate_clock::time_point from, rate_clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

// Floating-point slack: 1/0.001 is 999.99999999999997..., a wait of "exactly" n seconds must
// not round up to n + 1.
constexpr double epsilon = 1e-9;

}  // namespace

std::chrono::seconds retry_after_seconds(double wait_seconds) {
    const double whole = std::ceil(wait_seconds - epsilon);
    return std::chrono::seconds(static_cast<std::int64_t>(std::max(1.0, whole)));
}

void token_bucket::refill(const bucket_params& p, rate_clock::time_point now) {
    // Workers race to the shared bucket with time points taken a moment apart: an earlier one
    // arriving late adds nothing and never moves the bucket's time backwards.
    if (now <= updated_) {
        return;
    }
    tokens_ = std::min(p.burst, tokens_ + seconds_between(updated_, now) * p.rate);
    updated_ = now;
}

rate_decision token_bucket::take(const bucket_params& p, rate_clock::time_point now) {
    refill(p, now);
    if (tokens_ >= 1 - epsilon) {
        tokens_ = std::max(0.0, tokens_ - 1);
        return {true, std::chrono::seconds(0)};
    }
    return {false, retry_after_seconds((1 - tokens_) / p.rate)};
}

bool token_bucket::full(const bucket_params& p, rate_clock::time_point now) const {
    const double elapsed = now > updated_ ? seconds_between(updated_, now) : 0.0;
    return tokens_ + elapsed * p.rate >= p.burst - epsilon;
}

}  // namespace spillway::proxy
