#pragma once
// One client's token bucket (sans-I/O: the caller passes the time). It holds up to `burst`
// tokens, gains `rate` tokens a second, and a request takes one. A request that finds less than
// one token is refused with the time until the next token, which becomes Retry-After.

#include <chrono>
#include <cstdint>

namespace spillway::proxy {

using rate_clock = std::chrono::steady_clock;

struct bucket_params {
    double rate = 1;  // tokens gained per second (> 0; fractional allowed)
    double burst = 1;  // capacity (>= 1): requests allowed at once after an idle period
};

struct rate_decision {
    bool allowed = true;
    std::chrono::seconds retry_after{0};  // when refused: whole seconds until a token, >= 1
};

// Whole seconds for Retry-After: the wait rounded up, at least 1 (0 would invite a retry storm).
std::chrono::seconds retry_after_seconds(double wait_seconds);

class token_bucket {
public:
    // A new client starts full.
    token_bucket(const bucket_params& p, rate_clock::time_point now)
        : tokens_(p.burst), updated_(now) {}

    rate_decision take(const bucket_params& p, rate_clock::time_point now);

    // Whether the bucket is back to full capacity at `now`: such a bucket is indistinguishable
    // from a new one, so forgetting it changes nothing.
    bool full(const bucket_params& p, rate_clock::time_point now) const;

    rate_clock::time_point updated() const { return updated_; }
    double tokens() const { return tokens_; }

private:
    void refill(const bucket_params& p, rate_clock::time_point now);

    double tokens_;
    rate_clock::time_point updated_;
};

}  // namespace spillway::proxy
