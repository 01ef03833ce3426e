#pragma once
// spillway_kafka_delivery_seconds, written the same way by every daemon that produces (the
// proxy's captures and spool drain, the replay's dead letters).

#include "spillway/admin/metrics.hpp"
#include "spillway/kafka/producer.hpp"

namespace spillway::kafka {

// The family and its samples, result="delivered" and result="failed".
void write_delivery_latency(admin::exposition& out, const producer::delivery_latency& latency);

}  // namespace spillway::kafka
