#pragma once
// The proxy daemon's /metrics: every spillway_* family it exposes, in one place.

#include "spillway/capture/capture_handler.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/metrics/metrics.hpp"
#include "spillway/proxy/session.hpp"
#include "spillway/spool/drainer.hpp"
#include "spillway/spool/spool.hpp"

#include <functional>

namespace spillway::daemon {

struct proxy_metric_sources {
    const proxy::proxy_counters& proxy;
    const http_util::body_budget& body_budget;
    const capture::capture_counters& capture;
    const spool::spool& spool;
    const spool::drainer& drainer;
    const kafka::producer& producer;
};

void register_proxy_metrics(metrics::registry& registry, proxy_metric_sources sources);

// Per backend endpoint: circuit state and transitions, pool connections, connect attempts.
// `endpoints` gives the newest configuration's (a reload may change them).
void register_backend_metrics(metrics::registry& registry,
                              std::function<proxy::backend_endpoints()> endpoints);

}  // namespace spillway::daemon
