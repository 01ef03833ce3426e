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
}

// The outage rule (docs/replay.md, "Backend down").
void write_outage(exposition& out, const replay_counters& c) {
    out.family("spillway_replay_backend_outages_total", "counter",
               "Times the backend was found down (a connect failed, or a probe confirmed a 502, "
               "503, 504, reset or timeout) and fetching paused.");
    out.sample("spillway_replay_backend_outages_total", value(c.backend_outages));
    out.family("spillway_replay_backend_up", "gauge",
               "0 while the replay holds the backend for down (probing), else 1.");
    out.sample("spillway_replay_backend_up", c.backend_down.load() ? 0 : 1);
    constexpr std::string_view not_counted = "spillway_replay_attempts_not_counted_total";
    out.family(not_counted, "counter",
               "Sends that did not count against their message's replay.max_attempts: "
               "connect_failed (nothing reached the backend), outage (a 502/503/504, reset or "
               "timeout that a probe showed was the backend's outage).");
    out.sample(not_counted, {{"reason", "connect_failed"}}, value(c.not_counted_connect));
    out.sample(not_counted, {{"reason", "outage"}}, value(c.not_counted_outage));
    constexpr std::string_view probes = "spillway_replay_probes_total";
    out.family(probes, "counter",
               "HTTP probes of replay.probe_path by result: up (any status but 502/503/504), "
               "down (502/503/504 or no answer).");
    out.sample(probes, {{"result", "up"}}, value(c.probes_up));
    out.sample(probes, {{"result", "down"}}, value(c.probes_down));
}

// What keeps every message finished.
void write_finishing(exposition& out, const replay_counters& c) {
    out.family("spillway_internal_errors_total", "counter",
               "Exceptions out of a message's replay (caught; the message is replayed again).");
    out.sample("spillway_internal_errors_total", value(c.internal_errors));
    out.family("spillway_replay_exchanges_cancelled_total", "counter",
               "Requests on the wire cancelled because their partition was revoked.");
    out.sample("spillway_replay_exchanges_cancelled_total", value(c.exchanges_cancelled));
    out.family("spillway_replay_dlq_produce_failures_total", "counter",
               "Failed produces to the dead-letter topic (each is tried again).");
    out.sample("spillway_replay_dlq_produce_failures_total", value(c.dlq_produce_failures));
    out.family("spillway_replay_dlq_body_omitted_total", "counter",
               "Dead letters the topic refused whole, sent without their body instead.");
    out.sample("spillway_replay_dlq_body_omitted_total", value(c.dlq_reduced));
}

void write_flow(exposition& out, const replay_counters& c) {
    out.family("spillway_replay_paused", "gauge",
               "1 while the partitions are paused because the backend is down (probing).");
    out.sample("spillway_replay_paused", c.paused_backend_down.load() ? 1 : 0);
    out.family("spillway_replay_backlog_full", "gauge",
               "1 while fetching is paused because the local backlog has stayed at its high "
               "watermark for 10 s (every replay.concurrency slot busy, e.g. with retries).");
    out.sample("spillway_replay_backlog_full", c.paused_backlog_full.load() ? 1 : 0);
    out.family("spillway_replay_assigned_partitions", "gauge",
               "Partitions of the topic this replay holds in its consumer group now. Summed over "
               "the replays, 0 while the topic has lag means nothing is being delivered.");
    out.sample("spillway_replay_assigned_partitions", value(c.assigned_partitions));
    out.family("spillway_replay_concurrency_limit", "gauge",
               "Requests the replay lets be on the wire at once now: halved on 429/503 or a "
               "latency well above the recent minimum, one more per round of good answers, 1 "
               "after an outage (replay.adaptive; else replay.concurrency).");
    out.sample("spillway_replay_concurrency_limit", value(c.concurrency_limit));
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
        write_outage(out, e.counters());
        write_finishing(out, e.counters());
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
