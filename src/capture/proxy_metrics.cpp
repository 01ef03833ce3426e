#include "spillway/capture/proxy_metrics.hpp"

#include "spillway/kafka/producer_metrics.hpp"

namespace spillway::capture {

namespace {

using admin::exposition;

double value(const std::atomic<std::uint64_t>& a) {
    return static_cast<double>(a.load(std::memory_order_relaxed));
}

void write_requests(exposition& out, const proxy::proxy_counters& c) {
    out.family("spillway_requests_total", "counter",
               "Client requests by outcome: proxied (the backend answered), captured (the backend "
               "could not take it), rejected (malformed, too large, timed out), local (health), "
               "aborted (a side went away mid-response).");
    out.sample("spillway_requests_total", {{"outcome", "proxied"}}, value(c.requests_proxied));
    out.sample("spillway_requests_total", {{"outcome", "captured"}}, value(c.requests_captured));
    out.sample("spillway_requests_total", {{"outcome", "rejected"}}, value(c.requests_rejected));
    out.sample("spillway_requests_total", {{"outcome", "local"}}, value(c.requests_local));
    out.sample("spillway_requests_total", {{"outcome", "aborted"}}, value(c.requests_aborted));
    out.family("spillway_connections_refused_total", "counter",
               "Client connections closed at accept because limits.max_connections was reached.");
    out.sample("spillway_connections_refused_total", value(c.connections_refused));
    out.family("spillway_open_connections", "gauge", "Client connections open now.");
    out.sample("spillway_open_connections",
               static_cast<double>(c.open_connections.load(std::memory_order_relaxed)));
    out.family("spillway_upstream_duration_seconds", "histogram",
               "From sending a request to the backend to its response head (or the failure).");
    c.upstream_duration.write(out, "spillway_upstream_duration_seconds");
}

void write_captures(exposition& out, const capture_counters& c) {
    static constexpr core::failure_kind kinds[] = {
        core::failure_kind::connect_error, core::failure_kind::timeout,
        core::failure_kind::upstream_status, core::failure_kind::upstream_reset,
        core::failure_kind::circuit_open};
    static constexpr sink sinks[] = {sink::kafka, sink::spool, sink::none};
    out.family("spillway_captured_total", "counter",
               "Captured requests by failure kind and where they were stored (none: answered "
               "\"queued\":false).");
    double queued = 0;
    for (auto kind : kinds) {
        for (auto s : sinks) {
            const auto n = static_cast<double>(c.get(kind, s));
            out.sample("spillway_captured_total",
                       {{"failure", core::to_string(kind)}, {"sink", to_string(s)}}, n);
            queued += s == sink::none ? 0 : n;
        }
    }
    out.family("spillway_queued_total", "counter",
               "Requests answered \"queued\":true (stored in Kafka or the spool).");
    out.sample("spillway_queued_total", queued);
}

void write_storage(exposition& out, const spool::spool& s, const spool::drainer& d,
                   const kafka::producer& p) {
    out.family("spillway_spool_records", "gauge", "Records waiting in the spool.");
    out.sample("spillway_spool_records", static_cast<double>(s.records()));
    out.family("spillway_spool_bytes", "gauge", "Bytes waiting in the spool.");
    out.sample("spillway_spool_bytes", static_cast<double>(s.bytes()));
    out.family("spillway_spool_drained_total", "counter",
               "Spooled records delivered to Kafka and deleted from the spool.");
    out.sample("spillway_spool_drained_total", static_cast<double>(d.delivered()));
    out.family("spillway_kafka_connected", "gauge", "1 when a Kafka broker is up.");
    out.sample("spillway_kafka_connected", p.connected() ? 1 : 0);
}

// --- Kafka delivery latency (replayadmin) ---

void write_kafka_delivery(exposition& out, const kafka::producer& p) {
    const auto* latency = p.latency();
    if (latency == nullptr) {
        return;
    }
    kafka::write_delivery_latency(out, *latency);
}

// --- end Kafka delivery latency ---

}  // namespace

void register_proxy_metrics(admin::registry& registry, proxy_metric_sources s) {
    registry.add([s](exposition& out) {
        write_requests(out, s.proxy);
        write_captures(out, s.capture);
        write_storage(out, s.spool, s.drainer, s.producer);
        write_kafka_delivery(out, s.producer);
    });
}

}  // namespace spillway::capture
