#pragma once
// The replay daemon's /metrics: every spillway_replay_* family, in one place.

#include "spillway/metrics/metrics.hpp"
#include "spillway/replay/engine.hpp"

namespace spillway::replay {

void register_replay_metrics(metrics::registry& registry, const engine& e);

}  // namespace spillway::replay
