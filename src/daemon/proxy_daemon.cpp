#include "spillway/daemon/proxy_daemon.hpp"

#include "spillway/admin/admin_server.hpp"
#include "spillway/capture/capture_handler.hpp"
#include "spillway/capture/durable_store.hpp"
#include "spillway/config/config_diff.hpp"
#include "spillway/core/seal.hpp"
#include "spillway/daemon/proxy_metrics.hpp"
#include "spillway/daemon/proxy_readiness.hpp"
#include "spillway/daemon/report_pump.hpp"
#include "spillway/envelope/envelope_limits.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/kafka/topic_durability.hpp"
#include "spillway/metrics/metrics.hpp"
#include "spillway/proxy/server.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/spool/drainer.hpp"
#include "spillway/spool/spool.hpp"
#include "spillway/upstream/tls_client_context.hpp"

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
#include <vector>

namespace spillway::daemon {

namespace {

// "http://a:1" for one endpoint, "http://a:1, http://b:2 (round-robin)" for several; and the
// circuit breaker's settings when it is on.
std::string describe_backend(const config::config& cfg) {
    std::string out;
    for (const auto& e : cfg.backend.endpoints) {
        out += (out.empty() ? "http://" : ", http://") + e.to_string();
    }
    if (cfg.backend.endpoints.size() > 1) {
        out += " (round-robin)";
    }
    if (cfg.circuit_breaker.enabled) {
        out += " with circuit breaker (" + std::to_string(cfg.circuit_breaker.failure_threshold) +
               " failures, open " + std::to_string(cfg.circuit_breaker.open_duration.count()) +
               " ms)";
    }
    return out;
}

// Once at start: whether captured credentials can be replayed (docs/sealing.md).
void log_sealing(const config::capture_config& cap) {
    const auto log = runtime::logger("proxy");
    std::string names;
    for (const auto& n : cap.seal_headers) {
        names += (names.empty() ? "" : ", ") + n;
    }
    const core::seal_key* key = cap.keys ? cap.keys->sealing() : nullptr;
    if (key != nullptr) {
        log->info("captures seal {}{} with key id {}", names.empty() ? "no headers" : names,
                  cap.seal_body ? " and the body" : "", key->id());
    } else if (!names.empty()) {
        log->warn(
            "no capture.seal_key_file: {} are stored as [REDACTED], so authenticated requests "
            "will be replayed without their credentials (docs/sealing.md)",
            names);
    }
}

// The running producer's message.max.bytes was set at start for the envelopes of the limits then
// (producer_config). A reload that lets larger envelopes in (a larger capture.max_body_bytes or
// limits.max_header_bytes) would make captures the producer refuses: those keys keep their value
// until a restart, unless the operator set message.max.bytes (then it is theirs to keep right).
void keep_envelopes_within_records(config::reload_plan& plan, const config::config& running,
                                   const config::config& started) {
    if (started.kafka.properties.contains("message.max.bytes")) {
        return;
    }
    auto& next = plan.effective;
    const auto limit = envelope::message_max_bytes_for(envelope::max_envelope_bytes(
        started.capture.max_body_bytes, started.limits.max_header_bytes));
    const auto needed = envelope::message_max_bytes_for(
        envelope::max_envelope_bytes(next.capture.max_body_bytes, next.limits.max_header_bytes));
    if (needed <= limit) {
        return;
    }
    next.capture.max_body_bytes = running.capture.max_body_bytes;
    next.limits.max_header_bytes = running.limits.max_header_bytes;
    for (const std::string key : {"capture.max_body_bytes", "limits.max_header_bytes"}) {
        const auto at = std::find(plan.applied.begin(), plan.applied.end(), key);
        if (at != plan.applied.end()) {
            plan.applied.erase(at);
            plan.ignored.push_back(key +
                                   " (larger envelopes than the Kafka producer was started "
                                   "for)");
        }
    }
}

}  // namespace

// librdkafka refuses records over message.max.bytes (1,000,000 by default), which a body well
// within capture.max_body_bytes can exceed once in JSON. Unless the operator chose a limit, allow
// the largest envelope a request within the limits can make (envelope_limits.hpp, shared with the
// replay's dead-letter producer); the topic's max.message.bytes must allow as much (README,
// "Operating it").
config::kafka_config producer_config(const config::config& cfg) {
    auto kafka = cfg.kafka;
    if (!kafka.properties.contains("message.max.bytes")) {
        const auto largest =
            envelope::max_envelope_bytes(cfg.capture.max_body_bytes, cfg.limits.max_header_bytes);
        kafka.properties["message.max.bytes"] =
            std::to_string(envelope::message_max_bytes_for(largest));
    }
    return kafka;
}

// Declared in the order they are built; each part only refers to parts declared before it, and
// stop() takes them down in the order the promise needs (not the reverse of this one).
struct proxy_daemon::parts {
    explicit parts(const config::config& c)
        : cfg(c),
          producer(kafka::make_producer(producer_config(c))),
          spool(c.spool),
          drainer(spool, *producer),
          store(*producer, spool),
          handler(c, store),
          server(running, handler),
          admin_listener(admin::admin_address(c, 9901), metrics,
                         [this] { return proxy_readiness(storage()); }),
          reports(*producer),
          durability(c.kafka) {
        register_proxy_metrics(metrics, {server.counters(), server.body_budget(),
                                         handler.counters(), spool, drainer, *producer});
        register_backend_metrics(metrics, [this] { return server.endpoints(); });
        if (auto* tls = server.tls()) {
            // On every reload, changed keys or not: a certificate renewed in place (same paths,
            // as certbot and cert-manager do) is re-read. Files that do not load throw: the
            // reload changes nothing.
            reload_hooks.push_back([tls](const config::config& next) {
                tls->reload(next.tls);
                runtime::logger("proxy")->info(
                    "reload: TLS certificate {} and key {} loaded for new connections",
                    next.tls.cert_file, next.tls.key_file);
            });
        }
        metrics.add([this](spillway::metrics::exposition& out) { durability.write_metrics(out); });
        metrics.add([this](spillway::metrics::exposition& out) {
            out.family("spillway_config_reloads_total", "counter",
                       "Configuration reloads (SIGHUP): ok, or error when the file did not "
                       "validate and nothing changed.");
            out.sample("spillway_config_reloads_total", {{"result", "ok"}},
                       static_cast<double>(reloads_ok.load()));
            out.sample("spillway_config_reloads_total", {{"result", "error"}},
                       static_cast<double>(reloads_failed.load()));
        });
    }

    storage_state storage() const {
        storage_state st;
        st.kafka_connected = producer->connected();
        st.kafka_fatal = producer->fatal_error();
        st.spool_commit_ok = spool.last_commit_ok();
        st.spool_bytes = spool.bytes();
        st.spool_max_bytes = spool.max_bytes();
        st.spool_quarantined_bytes = spool.quarantined_bytes();
        st.spool_disk_bytes = spool.disk_bytes();
        st.spool_undeleted = drainer.undeleted();
        return st;
    }

    const config::config& cfg;  // as started: what needs a restart is read from here
    std::shared_ptr<const config::config> running = std::make_shared<const config::config>(cfg);
    // Called by reload() with the new configuration before anything else changes; a hook that
    // throws config::config_error fails the reload, which then changes nothing. For what is
    // reloaded outside the proxy's workers (the TLS listener's certificate and key).
    std::vector<std::function<void(const config::config&)>> reload_hooks;
    std::atomic<std::uint64_t> reloads_ok{0};
    std::atomic<std::uint64_t> reloads_failed{0};
    std::unique_ptr<kafka::producer> producer;
    spool::spool spool;
    spool::drainer drainer;
    capture::durable_store store;
    capture::capture_handler handler;
    proxy::server server;
    metrics::registry metrics;
    admin::admin_server admin_listener;
    report_pump reports;  // after the server: destroyed (and stopped) before its event loops
    kafka::topic_durability_check durability;  // asks the broker in the background
    bool stopped = false;
};

proxy_daemon::proxy_daemon(const config::config& cfg) : parts_(std::make_unique<parts>(cfg)) {}

proxy_daemon::~proxy_daemon() {
    stop();
}

bool proxy_daemon::start() {
    const auto log = runtime::logger("proxy");
    auto& p = *parts_;
    p.drainer.start();
    p.durability.start();  // never waits for the broker: start-up goes on at once
    try {
        p.server.start();
    } catch (const boost::system::system_error& e) {  // Asio's: not a std::system_error in 1.81
        log->critical("cannot listen on {}: {}", p.cfg.listen.to_string(), e.what());
        return false;
    }
    if (!admin::start_admin(p.admin_listener, p.cfg)) {
        return false;
    }
    if (!p.reports.start(p.server.first_worker_executor())) {
        log->warn("delivery reports stay on the producer's thread");
    }
    const auto ep = p.server.local_endpoint();
    log->info(
        "spillway {} listening on {}:{}{} ({} worker thread(s)), backend {}, kafka {} topic {}, "
        "spool {} ({} records waiting)",
        SPILLWAY_VERSION, ep.address().to_string(), ep.port(),
        p.cfg.tls.enabled() ? " (TLS " + p.cfg.tls.min_version + "+, " + p.cfg.tls.cert_file + ")"
                            : std::string(),
        p.cfg.worker_threads(), describe_backend(p.cfg), p.cfg.kafka.brokers, p.cfg.kafka.topic,
        p.spool.path(), p.spool.records());
    log_sealing(p.cfg.capture);
    return true;
}

bool proxy_daemon::reload(const std::function<config::config()>& load) {
    const auto log = runtime::logger("proxy");
    auto& p = *parts_;
    config::reload_plan plan;
    try {
        const auto loaded = load();
        plan = config::plan_reload(*p.running, loaded, config::proxy_key_class);
        keep_envelopes_within_records(plan, *p.running, p.cfg);
        // A backend.tls.ca_file that does not load fails the reload here, before anything
        // changed, rather than leaving the new pools without TLS.
        upstream::prepare_backend_tls(plan.effective.backend);
        for (const auto& hook : p.reload_hooks) {
            hook(plan.effective);
        }
    } catch (const config::config_error& e) {
        p.reloads_failed.fetch_add(1);
        log->error("reload: configuration error: {}; nothing changed", e.what());
        return false;
    }
    if (!plan.ignored.empty()) {
        log->warn("reload: {} changed but need(s) a restart; the running value(s) stay",
                  config::join_keys(plan.ignored));
    }
    p.reloads_ok.fetch_add(1);
    if (!plan.changes_anything()) {
        log->info("reload: nothing to change");
        return true;
    }
    auto next = std::make_shared<const config::config>(std::move(plan.effective));
    if (next->log.level != p.running->log.level) {
        runtime::set_log_level(next->log.level);
    }
    p.server.reload(next);
    p.running = next;
    log->info("reload: {} changed; new requests use them (backend {})",
              config::join_keys(plan.applied), describe_backend(*next));
    return true;
}

void proxy_daemon::on_kafka_fatal(std::function<void(const std::string&)> listener) {
    parts_->producer->set_on_fatal(std::move(listener));
}

std::optional<std::string> proxy_daemon::kafka_fatal() const {
    return parts_->producer->fatal_error();
}

void proxy_daemon::raise_kafka_fatal_for_test() {
    parts_->producer->raise_fatal_error_for_test("raised by SPILLWAY_TEST_HOOKS (SIGUSR2)");
}

void proxy_daemon::stop() {
    auto& p = *parts_;
    if (p.stopped) {
        return;
    }
    p.stopped = true;
    // Reports go back to the producer's own thread before the workers stop running.
    p.reports.stop();
    p.durability.stop();
    p.server.stop();
    p.admin_listener.stop();
    p.drainer.stop(p.cfg.kafka.delivery_timeout);
    p.producer->close(p.cfg.kafka.delivery_timeout);
    p.spool.close();
    runtime::logger("proxy")->info("stopped; {} records left in the spool for the next start",
                                   p.spool.records());
}

}  // namespace spillway::daemon
