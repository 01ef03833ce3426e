#include "spillway/proxy/snapshot.hpp"

#include "spillway/config/config_diff.hpp"

namespace spillway::proxy {

std::shared_ptr<const snapshot> make_snapshot(std::shared_ptr<const config::config> cfg,
                                              const snapshot* previous) {
    auto next = std::make_shared<snapshot>();
    next->endpoints =
        make_endpoints(*cfg, previous != nullptr ? previous->endpoints : backend_endpoints{});
    // Changed rate limits start every client with a full bucket (README, "Reloading").
    if (previous != nullptr && !config::keys_differ(*previous->cfg, *cfg, "rate_limit.")) {
        next->rate_limit = previous->rate_limit;
    } else {
        next->rate_limit = rate_limiter::from_config(cfg->rate_limit);
    }
    next->generation = previous != nullptr ? previous->generation + 1 : 1;
    next->cfg = std::move(cfg);
    return next;
}

std::shared_ptr<const snapshot> make_snapshot(const config::config& cfg) {
    return make_snapshot(std::make_shared<const config::config>(cfg));
}

}  // namespace spillway::proxy
