#include "spillway/replay/replay_metrics.hpp"

#include "spillway/kafka/producer_metrics.hpp"

#include <string>

namespace spillway::replay {

namespace {

using metrics::exposition;

double value(const std::atomic<std::uint64_t>& a) {
    return static_cast<double>(a.load(std::memory_order_relaxed));
}

void write_outcomes(exposition& out, const replay_counters& c) {
    constexpr std::string_view messages = "spillway_replay_messages_total";
    out.family(messages, "counter",
               "Replayed messages by outcome: delivered (2xx/3xx), retried (one per failed attempt "
               "that will be tried again), dead_lettered (acknowledged by the DLQ topic), "
               "abandoned (unfinished at shutdown or on a revoke; replayed again later).");
    out.sample(messages, {{"outcome", "delivered"}}, value(c.delivered));
    out.sample(messages, {{"outcome", "retried"}}, value(c.retried));
    out.sample(messages, {{"outcome", "dead_lettered"}}, value(c.dead_lettered));
    out.sample(messages, {{"outcome", "abandoned"}}, value(c.abandoned));
    out.family("spillway_replay_attempts_total", "counter",
               "Requests the backend received (answered, or failed after the connection was "
               "made); connect failures are not attempts.");
    out.sample("spillway_replay_attempts_total", value(c.attempts));
    out.family("spillway_replay_attempt_duration_seconds", "histogram",
               "One attempt: from sending the request to its status (or its failure).");
    c.attempt_duration.write(out, "spillway_replay_attempt_duration_seconds");
    out.family("spillway_replay_backend_outages_total", "counter",
               "Times the backend was found down (a connect failed) and fetching paused.");
    out.sample("spillway_replay_backend_outages_total", value(c.backend_outages));
}

void write_flow(exposition& out, const replay_counters& c) {
    out.family("spillway_replay_paused", "gauge",
               "1 while the partitions are paused because the backend is down (probing).");
    out.sample("spillway_replay_paused", c.paused_backend_down.load() ? 1 : 0);
    out.family("spillway_replay_backlog_full", "gauge",
               "1 while fetching is paused because the local backlog has stayed at its high "
               "watermark for 10 s (every replay.concurrency slot busy, e.g. with retries).");
    out.sample("spillway_replay_backlog_full", c.paused_backlog_full.load() ? 1 : 0);
    out.family("spillway_replay_in_flight", "gauge", "Messages being replayed now.");
    out.sample("spillway_replay_in_flight", value(c.in_flight));
    out.family("spillway_replay_backlog", "gauge", "Fetched messages waiting for a slot.");
    out.sample("spillway_replay_backlog", value(c.backlog));
}

void write_lag(exposition& out, const std::string& topic, const std::vector<partition_lag>& lags) {
    out.family("spillway_replay_consumer_lag", "gauge",
               "Per assigned partition: end offset minus the group's committed offset (checked "
               "against the brokers every 2 s; absent while they do not answer).");
    for (const auto& l : lags) {
        const auto partition = std::to_string(l.partition);
        out.sample("spillway_replay_consumer_lag", {{"topic", topic}, {"partition", partition}},
                   static_cast<double>(l.lag));
    }
}

}  // namespace

void register_replay_metrics(metrics::registry& registry, const engine& e) {
    registry.add([&e](exposition& out) {
        write_outcomes(out, e.counters());
        write_flow(out, e.counters());
        write_lag(out, e.topic(), e.lags());
        if (const auto* latency = e.dlq_producer().latency()) {
            kafka::write_delivery_latency(out, *latency, "spillway_replay_dlq_delivery_seconds");
        }
        const bool ready = !e.readiness();
        out.family("spillway_replay_ready", "gauge",
                   "1 when GET /ready answers 200: Kafka answered the last check and the consumer "
                   "is in its group.");
        out.sample("spillway_replay_ready", ready ? 1 : 0);
    });
}

}  // namespace spillway::replay
