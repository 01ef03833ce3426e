#pragma once
// The proxy daemon assembled: the one place that knows every part of `spillway` and how they
// depend on each other. Kafka producer, spool and its drainer, the durable store and the capture
// handler, the proxy's workers, the admin listener with the daemon's metric families and its
// readiness, and the delivery-report pump on the first worker. The binary's main only reads the
// command line, waits for a signal and calls reload() or stop().

#include "spillway/config/config.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace spillway::daemon {

class proxy_daemon {
public:
    // Builds every part; throws (startup only) when one refuses the configuration, e.g. a
    // kafka.properties librdkafka rejects or a spool directory that cannot be opened.
    explicit proxy_daemon(const config::config& cfg);
    ~proxy_daemon();  // stop()

    proxy_daemon(const proxy_daemon&) = delete;
    proxy_daemon& operator=(const proxy_daemon&) = delete;

    // Binds the proxy's and the admin listener and starts serving. False (logged) when a
    // listener that must exist cannot be bound.
    bool start();

    // Shutdown in the order that keeps the promise: the listeners close and the requests in
    // flight finish (each capture completes to Kafka or the spool), then the drainer, the
    // producer (flushed) and the spool. Idempotent.
    void stop();

    // SIGHUP (DESIGN.md "Configuration"): `load` reads the file and the environment again. A
    // configuration that does not validate (load throws config::config_error) is logged as an
    // error naming the key and changes nothing. Otherwise the live keys that changed serve new
    // requests (those in flight finish under the old ones) and a changed key that needs a
    // restart is logged as a warning and keeps its value. One log line says what changed;
    // counted in spillway_config_reloads_total{result}. Returns whether it was applied. From
    // main's thread, not concurrently with stop().
    bool reload(const std::function<config::config()>& load);

    // A fatal error of the idempotent producer (librdkafka's ERR__FATAL) leaves it unusable for
    // good. The daemon does not build a second producer inside the same process: it reports it
    // (/ready, spillway_kafka_producer_fatal, an error log) and calls `listener` once, from a
    // Kafka thread, so main stops it the graceful way (every capture in flight ends in the spool)
    // and exits 1 for the supervisor to restart it with the spool intact (README, "Exit
    // statuses"). Set before start().
    void on_kafka_fatal(std::function<void(const std::string& reason)> listener);
    std::optional<std::string> kafka_fatal() const;
    // Tests only (SPILLWAY_TEST_HOOKS=1 and SIGUSR2): raises such an error in the producer.
    void raise_kafka_fatal_for_test();

    struct parts;

private:
    std::unique_ptr<parts> parts_;
};

// The producer's configuration: kafka.* with message.max.bytes raised, unless the operator set
// it, so that the envelope of any body within capture.max_body_bytes fits in one record.
config::kafka_config producer_config(const config::config& cfg);

}  // namespace spillway::daemon
