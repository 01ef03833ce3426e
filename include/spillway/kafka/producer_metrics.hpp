#pragma once
// Kafka delivery latency, written the same way by every daemon that produces: the proxy's
// captures and spool drain (spillway_kafka_delivery_seconds), the replay's dead letters
// (spillway_replay_dlq_delivery_seconds, so that one dashboard query never mixes the two).

#include "spillway/kafka/producer.hpp"
#include "spillway/metrics/metrics.hpp"

namespace spillway::kafka {

// The family `name` and its samples, result="delivered" and result="failed".
void write_delivery_latency(metrics::exposition& out, const producer::delivery_latency& latency,
                            std::string_view name = "spillway_kafka_delivery_seconds");

}  // namespace spillway::kafka
