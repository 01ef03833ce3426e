#pragma once
// replay.rate_limit: at most `rate` requests per second, as a generic cell rate algorithm with a
// burst of 50 ms worth of requests (so timer granularity does not lower the rate). Sans-I/O: the
// caller passes the time and waits for the returned delay.

#include <chrono>

namespace spillway::replay {

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    // rate <= 0: unlimited.
    explicit rate_limiter(double rate);

    // Reserves the next slot; returns how long to wait before sending (zero: send now).
    clock::duration acquire(clock::time_point now);

    bool unlimited() const { return interval_.count() <= 0; }

private:
    clock::duration interval_{0};  // between two requests
    clock::duration tolerance_{0};  // how far ahead of schedule a burst may run
    clock::time_point tat_{};  // theoretical arrival time of the next request
};

}  // namespace spillway::replay
