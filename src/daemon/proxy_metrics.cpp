#include "spillway/daemon/proxy_metrics.hpp"

#include "spillway/kafka/producer_metrics.hpp"
#include "spillway/runtime/logging.hpp"

#include <algorithm>
#include <vector>

namespace spillway::daemon {

namespace {

using metrics::exposition;

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

// Upgrade requests (WebSocket) and their tunnels: a tunneled or declined upgrade is also counted as
// spillway_requests_total{outcome="proxied"}, a failed one as rejected.
void write_tunnels(exposition& out, const proxy::tunnel_counters& t) {
    out.family("spillway_upgrades_total", "counter",
               "Requests that asked to switch protocols (Connection: Upgrade), by result: "
               "tunneled (the backend answered 101), declined (it answered otherwise; relayed), "
               "failed (it could not be reached or did not answer: 502, never captured).");
    out.sample("spillway_upgrades_total", {{"result", "tunneled"}}, value(t.tunneled));
    out.sample("spillway_upgrades_total", {{"result", "declined"}}, value(t.declined));
    out.sample("spillway_upgrades_total", {{"result", "failed"}}, value(t.failed));
    out.family("spillway_tunnels_open", "gauge", "Upgraded connections being tunneled now.");
    out.sample("spillway_tunnels_open",
               static_cast<double>(t.open.load(std::memory_order_relaxed)));
    out.family("spillway_tunnel_bytes_total", "counter",
               "Bytes copied through tunnels, by direction (to_backend, to_client).");
    out.sample("spillway_tunnel_bytes_total", {{"direction", "to_backend"}},
               value(t.bytes_to_backend));
    out.sample("spillway_tunnel_bytes_total", {{"direction", "to_client"}},
               value(t.bytes_to_client));
}

// The TLS listener (tls.*): zero on a plain one.
void write_tls(exposition& out, const proxy::proxy_counters& c) {
    out.family("spillway_tls_handshakes_total", "counter",
               "TLS handshakes completed on the proxy's listener.");
    out.sample("spillway_tls_handshakes_total", value(c.tls_handshakes));
    out.family("spillway_tls_handshake_errors_total", "counter",
               "TLS handshakes on the proxy's listener that failed, by reason: timeout (not done "
               "within limits.header_timeout_ms), plain_http (an HTTP request on the TLS port), "
               "protocol_version (below tls.min_version, or not TLS), closed (the client went "
               "away), other. The connection is closed; details are logged at debug.");
    for (std::size_t i = 0; i < proxy::tls_handshake_failure_count; ++i) {
        out.sample("spillway_tls_handshake_errors_total",
                   {{"reason", proxy::tls_handshake_failure_names[i]}},
                   value(c.tls_handshake_errors[i]));
    }
}

// Rate limiting (rate_limit.*): the 429s, also counted in spillway_requests_total{rejected}.
void write_rate_limit(exposition& out, const proxy::proxy_counters& c) {
    out.family("spillway_rate_limited_total", "counter",
               "Requests answered 429 because their client was over its rate limit (also counted "
               "as spillway_requests_total{outcome=\"rejected\"}).");
    out.sample("spillway_rate_limited_total", value(c.rate_limited));
}

// Hostile input and the proxy's own failures (DESIGN.md, "Hostile input never crashes, stalls or
// exhausts the proxy").
void write_self_protection(exposition& out, const proxy::proxy_counters& c,
                           const http_util::body_budget& budget) {
    out.family("spillway_internal_errors_total", "counter",
               "Failures of the proxy itself inside a connection (an exception): the connection "
               "ended, answered 500 if nothing was answered yet. Each is logged; any is a bug.");
    out.sample("spillway_internal_errors_total", value(c.internal_errors));
    out.family("spillway_overloaded_total", "counter",
               "Requests answered 503 overloaded, never captured (also counted as "
               "spillway_requests_total{outcome=\"rejected\"}): the request bodies held at once "
               "would have passed limits.max_buffered_bytes, or the proxy had no descriptor (or "
               "memory) for a backend connection (not the backend's failure).");
    out.sample("spillway_overloaded_total", value(c.overloaded));
    out.family("spillway_accept_pauses_total", "counter",
               "Times a listener of the proxy paused accepting because the process ran out of "
               "descriptors or memory (one per episode, not per attempt; retried every 100 ms).");
    out.sample("spillway_accept_pauses_total", value(c.accept_pauses));
    out.family("spillway_buffered_body_bytes", "gauge",
               "Request body bytes held in memory now (reserved), against "
               "limits.max_buffered_bytes.");
    out.sample("spillway_buffered_body_bytes", static_cast<double>(budget.in_use()));
}

// The log writer's queues (runtime/log_writer.hpp): what a stalled output could not take.
void write_logging(exposition& out) {
    out.family("spillway_log_dropped_total", "counter",
               "Log lines (access log and diagnostics) dropped because their output could not "
               "keep up (a pipe nobody reads, a slow disk): logging never blocks a worker.");
    out.sample("spillway_log_dropped_total", static_cast<double>(runtime::log_lines_dropped()));
}

void write_captures(exposition& out, const capture::capture_counters& c) {
    static constexpr core::failure_kind kinds[] = {
        core::failure_kind::connect_error, core::failure_kind::timeout,
        core::failure_kind::upstream_status, core::failure_kind::upstream_reset,
        core::failure_kind::circuit_open};
    using capture::sink;
    static constexpr sink sinks[] = {sink::kafka, sink::spool, sink::none};
    out.family("spillway_captured_total", "counter",
               "Captured requests by failure kind and where they were stored (none: answered "
               "\"queued\":false).");
    double queued = 0;
    for (auto kind : kinds) {
        for (auto s : sinks) {
            const auto n = static_cast<double>(c.get(kind, s));
            out.sample("spillway_captured_total",
                       {{"failure", core::to_string(kind)}, {"sink", capture::to_string(s)}}, n);
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
    out.family("spillway_spool_quarantined_records", "gauge",
               "Spooled records Kafka refused for good, set aside in the spool's quarantine "
               "table for the operator (README, \"The spool\").");
    out.sample("spillway_spool_quarantined_records", static_cast<double>(s.quarantined_records()));
    out.family("spillway_spool_drained_total", "counter",
               "Spooled records delivered to Kafka and deleted from the spool.");
    out.sample("spillway_spool_drained_total", static_cast<double>(d.delivered()));
    out.family("spillway_kafka_connected", "gauge", "1 when a Kafka broker is up.");
    out.sample("spillway_kafka_connected", p.connected() ? 1 : 0);
    out.family("spillway_kafka_producer_fatal", "gauge",
               "1 once the idempotent producer had a fatal error (librdkafka ERR__FATAL): the "
               "proxy stops and exits 1 for its supervisor to restart it (README, \"Exit "
               "statuses\").");
    out.sample("spillway_kafka_producer_fatal", p.fatal_error() ? 1 : 0);
}

// What keeps the spool from keeping its promise: a full disk, deletions that fail, its size.
void write_spool_health(exposition& out, const spool::spool& s, const spool::drainer& d) {
    out.family("spillway_spool_quarantined_bytes", "gauge",
               "Bytes of the quarantined records, on disk and counted against spool.max_bytes.");
    out.sample("spillway_spool_quarantined_bytes", static_cast<double>(s.quarantined_bytes()));
    out.family("spillway_spool_disk_bytes", "gauge",
               "What spool.db and its write-ahead log take on disk; spool.max_bytes bounds the "
               "larger of this and the records' bytes.");
    out.sample("spillway_spool_disk_bytes", static_cast<double>(s.disk_bytes()));
    out.family("spillway_spool_commit_failures_total", "counter",
               "Spool transactions SQLite failed (disk full, I/O error): their appends were "
               "answered \"queued\":false, their deletions are retried.");
    out.sample("spillway_spool_commit_failures_total", static_cast<double>(s.commit_failures()));
    out.family("spillway_spool_delete_failures_total", "counter",
               "Delivered spooled records whose deletion failed (each is retried; until then a "
               "restart would send it again).");
    out.sample("spillway_spool_delete_failures_total", static_cast<double>(d.delete_failures()));
    out.family("spillway_spool_undeleted_records", "gauge",
               "Delivered spooled records waiting for their deletion to be retried.");
    out.sample("spillway_spool_undeleted_records", static_cast<double>(d.undeleted()));
}

// --- backend endpoints: circuit breaker and upstream pools (issue 6) ---

void write_circuits(exposition& out, const proxy::backend_endpoints& endpoints) {
    using proxy::circuit_state;
    out.family("spillway_circuit_state", "gauge",
               "Circuit breaker state per backend endpoint: 0 closed, 1 open (requests captured "
               "as circuit_open without trying it), 2 half-open (one probe in flight). Always 0 "
               "when circuit_breaker.enabled is false.");
    for (const auto& e : endpoints) {
        out.sample("spillway_circuit_state", {{"endpoint", e->name()}},
                   static_cast<double>(e->state()));
    }
    static constexpr circuit_state states[] = {circuit_state::open, circuit_state::half_open,
                                               circuit_state::closed};
    out.family("spillway_circuit_transitions_total", "counter",
               "Circuit breaker transitions per backend endpoint, by the state entered.");
    for (const auto& e : endpoints) {
        for (auto s : states) {
            out.sample("spillway_circuit_transitions_total",
                       {{"endpoint", e->name()}, {"to", proxy::to_string(s)}},
                       static_cast<double>(e->transitions_to(s)));
        }
    }
}

void write_pools(exposition& out, const proxy::backend_endpoints& endpoints) {
    struct totals {
        double open = 0, idle = 0, connects = 0, connect_errors = 0, tls_errors = 0;
    };
    std::vector<totals> sums;
    for (const auto& e : endpoints) {
        totals t;
        for (const auto& g : e->all_gauges()) {
            t.open += g.open.load(std::memory_order_relaxed);
            t.idle += g.idle.load(std::memory_order_relaxed);
            t.connects += static_cast<double>(g.connects.load(std::memory_order_relaxed));
            t.connect_errors +=
                static_cast<double>(g.connect_errors.load(std::memory_order_relaxed));
            t.tls_errors +=
                static_cast<double>(g.tls_handshake_errors.load(std::memory_order_relaxed));
        }
        sums.push_back(t);
    }
    out.family("spillway_upstream_pool_connections", "gauge",
               "Connections to a backend endpoint, over all workers: idle in the keep-alive pool, "
               "or active (carrying a request).");
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
        const auto& name = endpoints[i]->name();
        // Each worker publishes its two gauges apart: a scrape may see them a moment out of step.
        out.sample("spillway_upstream_pool_connections", {{"endpoint", name}, {"state", "idle"}},
                   sums[i].idle);
        out.sample("spillway_upstream_pool_connections", {{"endpoint", name}, {"state", "active"}},
                   std::max(0.0, sums[i].open - sums[i].idle));
    }
    out.family("spillway_upstream_connects_total", "counter",
               "Connection attempts to a backend endpoint, by result (error: refused, unreachable, "
               "timed out, or the name did not resolve).");
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
        const auto& name = endpoints[i]->name();
        out.sample("spillway_upstream_connects_total", {{"endpoint", name}, {"result", "ok"}},
                   sums[i].connects);
        out.sample("spillway_upstream_connects_total", {{"endpoint", name}, {"result", "error"}},
                   sums[i].connect_errors);
    }
    out.family("spillway_upstream_tls_handshake_errors_total", "counter",
               "TLS handshakes with an https backend endpoint that failed (certificate rejected, "
               "not TLS, timed out); each is also a connect error.");
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
        out.sample("spillway_upstream_tls_handshake_errors_total",
                   {{"endpoint", endpoints[i]->name()}}, sums[i].tls_errors);
    }
}

// --- end of backend endpoints ---

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

void register_backend_metrics(metrics::registry& registry,
                              std::function<proxy::backend_endpoints()> current) {
    registry.add([current = std::move(current)](exposition& out) {
        const auto endpoints = current();
        write_circuits(out, endpoints);
        write_pools(out, endpoints);
    });
}

void register_proxy_metrics(metrics::registry& registry, proxy_metric_sources s) {
    registry.add([s](exposition& out) {
        write_requests(out, s.proxy);
        write_rate_limit(out, s.proxy);
        write_tunnels(out, s.proxy.tunnels);
        write_tls(out, s.proxy);
        write_self_protection(out, s.proxy, s.body_budget);
        write_logging(out);
        write_captures(out, s.capture);
        write_storage(out, s.spool, s.drainer, s.producer);
        write_spool_health(out, s.spool, s.drainer);
        write_kafka_delivery(out, s.producer);
    });
}

}  // namespace spillway::daemon
