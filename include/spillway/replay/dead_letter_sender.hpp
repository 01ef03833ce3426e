#pragma once
// The replay's dead-letter path: a copy of the message goes to replay.dlq_topic, and only once
// the topic has acknowledged it may the original's offset count. A failed produce is tried again
// after a backoff until it succeeds or the engine stops; the original then stays uncommitted and
// is replayed later, so a dead letter is never lost to a Kafka outage. The records themselves
// are built by dead_letter.hpp.

#include "spillway/kafka/producer.hpp"
#include "spillway/net/task.hpp"
#include "spillway/replay/retry_policy.hpp"

#include <spdlog/logger.h>

#include <memory>
#include <set>

namespace spillway::replay {

namespace net = boost::asio;

class dead_letter_sender {
public:
    // Both must outlive the sender. Runs on the engine's thread, like every coroutine of it.
    dead_letter_sender(kafka::producer& producer, const backoff& retry);

    // True once the dead-letter topic acknowledged `rec`; false when stop() came first.
    netx::task<bool> send(const kafka::record& rec);

    // Ends the waits between tries; a record in flight still completes (and counts if acked).
    void stop();

private:
    netx::task<bool> wait_to_retry(unsigned tries);

    kafka::producer& producer_;
    const backoff& retry_;
    std::shared_ptr<spdlog::logger> log_;
    std::set<netx::steady_timer*> waits_;  // cancelled by stop()
    bool stopped_ = false;
};

}  // namespace spillway::replay
