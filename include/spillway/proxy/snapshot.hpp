#pragma once
// One configuration as the proxy serves it: immutable once built, shared by the workers and
// reference-counted. A reload builds a new snapshot and hands it to each worker on its own
// thread; a request keeps the snapshot it started with until it ends (session.hpp,
// worker_view), so requests in flight finish under the configuration they started with and the
// old snapshot goes away with its last request. docs/ARCHITECTURE.md, "Reload".

#include "spillway/config/config.hpp"
#include "spillway/proxy/backend_endpoint.hpp"
#include "spillway/proxy/rate_limiter.hpp"

#include <cstdint>
#include <memory>

namespace spillway::proxy {

struct snapshot {
    std::shared_ptr<const config::config> cfg;  // never null
    backend_endpoints endpoints;  // cfg->backend.endpoints, with their circuits
    std::shared_ptr<rate_limiter> rate_limit;  // null when rate_limit is off
    std::uint64_t generation = 1;  // 1 at start, one more per reload
};

// The snapshot of `cfg`. With a `previous` one (a reload) it keeps what the reload did not
// change: the endpoints that stay (their circuits: an endpoint that is down stays known as
// down), and the rate limiter's buckets when no rate_limit.* key changed.
std::shared_ptr<const snapshot> make_snapshot(std::shared_ptr<const config::config> cfg,
                                              const snapshot* previous = nullptr);

// A copy of `cfg` as the first snapshot (tests, and servers built from a plain config).
std::shared_ptr<const snapshot> make_snapshot(const config::config& cfg);

}  // namespace spillway::proxy
