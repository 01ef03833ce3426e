#pragma once
// The replay's dead-letter path: a copy of the message goes to replay.dlq_topic, and only once
// the topic has acknowledged it may the original's offset count. The records themselves are built
// by dead_letter.hpp.
//
// Every message is finished (DESIGN.md): a failed produce that Kafka may still take (a broker
// down, a timeout) is tried again after a backoff until it succeeds or the engine stops; the
// original stays uncommitted meanwhile and is replayed later, so a dead letter is never lost to a
// Kafka outage. A refusal that retrying cannot cure (kafka::is_permanent_error: too large for the
// topic, invalid, not authorised) is tried `permanent_tries` times (an operator may be raising
// the topic's limit) and then reported as `refused`, so the engine can produce a reduced copy
// instead of holding the partition's commit point forever (docs/replay.md, "Dead letters").

#include "spillway/config/config.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/net/task.hpp"
#include "spillway/replay/retry_policy.hpp"

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>

namespace spillway::replay {

namespace net = boost::asio;

// kafka.* for the dead-letter producer: message.max.bytes raised (unless kafka.properties sets
// it) to hold the dead letter of any envelope the proxy can queue (envelope_limits.hpp).
config::kafka_config dead_letter_producer_config(const config::config& cfg);

struct dead_letter_result {
    enum class kind { acknowledged, refused, stopped };
    kind outcome = kind::stopped;
    boost::system::error_code error;  // the last refusal's
};

class dead_letter_sender {
public:
    static constexpr unsigned permanent_tries = 3;

    // All three must outlive the sender; `failures` counts every failed produce. Runs on the
    // engine's thread, like every coroutine of it.
    dead_letter_sender(kafka::producer& producer, const backoff& retry,
                       std::atomic<std::uint64_t>& failures);

    netx::task<dead_letter_result> send(const kafka::record& rec);

    // Ends the waits between tries; a record in flight still completes (and counts if acked).
    void stop();

private:
    netx::task<bool> wait_to_retry(unsigned tries);

    kafka::producer& producer_;
    const backoff& retry_;
    std::atomic<std::uint64_t>& failures_;
    std::shared_ptr<spdlog::logger> log_;
    std::set<netx::steady_timer*> waits_;  // cancelled by stop()
    bool stopped_ = false;
};

}  // namespace spillway::replay
