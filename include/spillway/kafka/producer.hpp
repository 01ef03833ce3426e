#pragma once
// An asynchronous, idempotent Kafka producer (librdkafka) that never blocks its caller.
// produce() hands the record to librdkafka and returns at once; the delivery report arrives
// through a delivery_callback (async_produce.hpp turns it into a completion on the caller's
// executor). Reports are served on the producer's own poll thread, or on an event loop that took
// them over (take_over_reports: one thread hand-off less per report on the capture path). The
// callback fires exactly once for every record that produce() accepted: on success, on failure,
// and on close (flush, then purge, then poll). Errors are in the kafka category (errors.hpp).

#include "spillway/config/config.hpp"
#include "spillway/kafka/errors.hpp"
#include "spillway/metrics/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spillway::kafka {

struct delivery_report {
    // Empty: delivered and acknowledged (acks=all). Else a kafka-category code; message() is
    // librdkafka's description.
    boost::system::error_code error;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    // On error: the record may be in the topic all the same (it was in flight when it timed out
    // or was purged). Whoever stores it elsewhere should expect a duplicate, never a loss.
    bool possibly_persisted = false;

    bool ok() const { return !error; }
};

// Receives one delivery report. Called on the thread that serves reports (the producer's poll
// thread, or the event loop that took them over); must not block and must not throw. The
// producer destroys it right after on_delivery returns.
class delivery_callback {
public:
    virtual ~delivery_callback() = default;
    virtual void on_delivery(const delivery_report& report) noexcept = 0;
};

struct record {
    std::string topic;
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
};

class producer {
public:
    virtual ~producer() = default;

    // Enqueues a copy of the record without blocking (the caller keeps it, e.g. to spool it if
    // the delivery fails). On success the callback is owned by the producer and fires once,
    // later. On failure (errc::queue_full, an unknown topic, errc::destroy once closed) returns
    // the error and the callback is destroyed without being called.
    virtual boost::system::error_code produce(
        const record& r, std::unique_ptr<delivery_callback> callback) noexcept = 0;

    // Waits up to `timeout` for outstanding records, then fails whatever is left (their
    // callbacks fire with an error). Idempotent.
    virtual void close(std::chrono::milliseconds timeout) noexcept = 0;

    // Whether a broker answered recently (for /ready).
    virtual bool connected() const noexcept = 0;

    // Lets an event loop serve the delivery reports instead of the producer's poll thread:
    // returns a descriptor that becomes readable whenever reports are waiting (the loop then
    // calls serve_reports()), or -1 when this producer cannot hand them over. Until
    // give_back_reports() the loop must keep serving, or reports wait (close() still serves
    // them). give_back_reports() restarts the poll thread; both may be called from any thread.
    virtual int take_over_reports() { return -1; }
    // Runs the callbacks of every report waiting now; never blocks.
    virtual void serve_reports() noexcept {}
    virtual void give_back_reports() noexcept {}

    // spillway_kafka_delivery_seconds: from produce() to the delivery report, per result.
    // Observed where delivery reports are served, from librdkafka's own per-message timestamp, so
    // the produce path gains no clock read and no shared write. Null when not measured (test
    // fakes).
    struct delivery_latency {
        metrics::histogram delivered;
        metrics::histogram failed;
    };
    virtual const delivery_latency* latency() const noexcept { return nullptr; }

    // A fatal error (librdkafka's RD_KAFKA_RESP_ERR__FATAL): the idempotent producer can no
    // longer keep its order and no-duplicate guarantee and fails every record from then on. Its
    // reason once it happened, else nullopt.
    virtual std::optional<std::string> fatal_error() const { return std::nullopt; }
    // `listener` is called once, on whichever thread serves librdkafka's events, when a fatal
    // error happens; it must not block. Set it before the first produce().
    virtual void set_on_fatal(std::function<void(const std::string& reason)> listener) {
        (void)listener;
    }
    // Tests only (SPILLWAY_TEST_HOOKS, README "Exit statuses"): raises a fatal error the way a
    // broker would cause one (rd_kafka_test_fatal_error).
    virtual void raise_fatal_error_for_test(const std::string& reason) { (void)reason; }
};

// The production implementation: enable.idempotence=true, acks=all, kafka.properties applied on
// top of Spillway's defaults, librdkafka's logs forwarded to the "kafka" logger.
// Throws std::runtime_error (startup only) when librdkafka rejects the configuration.
std::unique_ptr<producer> make_producer(const config::kafka_config& cfg);

}  // namespace spillway::kafka
