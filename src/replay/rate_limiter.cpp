#include "spillway/replay/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace spillway::replay {

rate_limiter::rate_limiter(double rate) {
    if (rate > 0) {
        interval_ =
            std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / rate));
        interval_ = std::max(interval_, clock::duration{1});
        auto burst = std::max(1.0, std::floor(rate / 20.0));
        tolerance_ = interval_ * static_cast<long>(burst - 1);
    }
}

rate_limiter::clock::duration rate_limiter::acquire(clock::time_point now) {
    if (unlimited()) {
        return clock::duration::zero();
    }
    tat_ = std::max(tat_, now);
    auto allowed_at = tat_ - tolerance_;
    tat_ += interval_;
    return allowed_at > now ? allowed_at - now : clock::duration::zero();
}

}  // namespace spillway::replay
