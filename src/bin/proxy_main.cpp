// spillway: the proxy daemon.
#include "spillway/admin/admin_server.hpp"
#include "spillway/capture/capture_handler.hpp"
#include "spillway/capture/proxy_metrics.hpp"
#include "spillway/capture/proxy_readiness.hpp"
#include "spillway/capture/durable_store.hpp"
#include "spillway/capture/report_pump.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/proxy/server.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"
#include "spillway/spool/drainer.hpp"
#include "spillway/spool/spool.hpp"

#include <algorithm>
#include <csignal>
#include <exception>
#include <system_error>

namespace {

using namespace spillway;

// librdkafka refuses records over message.max.bytes (1,000,000 by default), which a body well
// within capture.max_body_bytes can exceed once in JSON. Unless the operator chose a limit, allow
// the envelope of a maximal body (escaped once over); the topic's max.message.bytes must allow
// as much (README, "Operating it").
config::kafka_config producer_config(const config::config& cfg) {
    auto kafka = cfg.kafka;
    if (!kafka.properties.contains("message.max.bytes")) {
        const std::uint64_t envelope_bound = 2 * cfg.capture.max_body_bytes + (1u << 20);
        kafka.properties["message.max.bytes"] =
            std::to_string(std::clamp<std::uint64_t>(envelope_bound, 1000000, 1000000000));
    }
    return kafka;
}

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

int run(const config::config& cfg, const sigset_t& signals) {
    auto log = runtime::logger("proxy");
    // Order matters for shutdown: the server stops first (every capture in flight completes to
    // Kafka or the spool), then the drainer, the producer and the spool.
    auto producer = kafka::make_producer(producer_config(cfg));
    spool::spool spool(cfg.spool);
    spool::drainer drainer(spool, *producer);
    drainer.start();
    capture::durable_store store(*producer, spool);
    capture::capture_handler handler(cfg, store);
    proxy::server server(cfg, handler, true);

    admin::registry metrics;
    capture::register_proxy_metrics(
        metrics, {server.counters(), handler.counters(), spool, drainer, *producer});
    capture::register_backend_metrics(metrics, server.endpoints());
    admin::admin_server admin_listener(
        admin::admin_address(cfg, 9901), metrics, [&] {
            return capture::proxy_readiness({producer->connected(), spool.last_commit_ok(),
                                             spool.bytes(), spool.max_bytes()});
        });
    try {
        server.start();
    } catch (const std::system_error& e) {
        log->critical("cannot listen on {}: {}", cfg.listen.to_string(), e.what());
        return 1;
    }
    if (!admin::start_admin(admin_listener, cfg)) {
        return 1;
    }
    // Declared after the server: destroyed (and stopped) before its event loops are.
    capture::report_pump reports(*producer);
    if (!reports.start(server.first_worker_executor())) {
        log->warn("delivery reports stay on the producer's thread");
    }
    const auto ep = server.local_endpoint();
    log->info("spillway {} listening on {}:{} ({} worker thread(s)), backend {}, kafka {} topic {}, "
              "spool {} ({} records waiting)",
              SPILLWAY_VERSION, ep.address().to_string(), ep.port(), cfg.worker_threads(),
              describe_backend(cfg), cfg.kafka.brokers, cfg.kafka.topic, spool.path(),
              spool.records());

    int sig = 0;
    sigwait(&signals, &sig);
    log->info("received {}, shutting down (up to {} ms for in-flight requests)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg.shutdown_timeout.count());
    // Reports go back to the producer's own thread before the workers stop running.
    reports.stop();
    server.stop();
    admin_listener.stop();
    drainer.stop(cfg.kafka.delivery_timeout);
    producer->close(cfg.kafka.delivery_timeout);
    spool.close();
    log->info("stopped; {} records left in the spool for the next start", spool.records());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway",
        "fault-tolerant HTTP reverse proxy: what the backend cannot take is stored in Kafka",
        {}};
    auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    const auto signals = runtime::block_termination_signals();
    int status = 1;
    try {
        status = run(cli.cfg, signals);
    } catch (const std::exception& e) {
        runtime::logger("proxy")->critical("cannot start: {}", e.what());
    }
    spdlog::shutdown();
    return status;
}
