#pragma once
// The replay daemon's /metrics: every spillway_replay_* family, in one place.

#include "spillway/admin/metrics.hpp"
#include "spillway/replay/engine.hpp"

namespace spillway::replay {

void register_replay_metrics(admin::registry& registry, const engine& e);

}  // namespace spillway::replay
