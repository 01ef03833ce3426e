#pragma once
// Whether the capture topic can keep a "queued" request through the loss of a broker
// (DESIGN.md "Configuration"; README, "Operating it"). With acks=all a write is acknowledged once
// min.insync.replicas replicas have it: with fewer than 2 it may live on one broker only, and with
// a replication factor below 3 one broker down leaves too few replicas to write (captures then go
// to the spool) or to keep. The proxy asks the broker once at start, in the background: a broker
// that is down never delays start-up; the check is retried until it answers.

#include "spillway/config/config.hpp"
#include "spillway/metrics/metrics.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace spillway::kafka {

struct topic_durability {
    int replication_factor = 0;  // the fewest replicas of any of the topic's partitions
    std::optional<int> min_insync_replicas;  // nullopt: the broker did not say (DescribeConfigs)
    std::string min_insync_error;  // why it did not, when it did not
};

// RF >= 3 and min.insync.replicas >= 2 (an unknown min.insync.replicas is not enough).
bool survives_broker_loss(const topic_durability& d);

// The log line: both numbers, and what to do when they are not enough.
std::string describe_durability(const std::string& topic, const topic_durability& d);

class topic_durability_check {
public:
    explicit topic_durability_check(const config::kafka_config& cfg);
    ~topic_durability_check();  // stop()
    topic_durability_check(const topic_durability_check&) = delete;
    topic_durability_check& operator=(const topic_durability_check&) = delete;

    // Starts asking on a thread of its own (its own client, the properties of the producer).
    void start();
    // Returns within about the broker request timeout slice (100 ms) once called. Idempotent.
    void stop();

    // The answer, once there is one.
    std::optional<topic_durability> result() const;

    // spillway_kafka_topic_replication_factor, spillway_kafka_topic_min_insync_replicas and
    // spillway_kafka_topic_durability_ok (1 or 0) with label topic; absent until the broker
    // answered (the two numbers: as far as it did).
    void write_metrics(metrics::exposition& out) const;

private:
    void run() noexcept;
    bool wait(std::chrono::milliseconds d);  // false when stopping

    config::kafka_config cfg_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::optional<topic_durability> result_;
    std::thread thread_;
};

}  // namespace spillway::kafka
