#pragma once
// Consumer lag per partition and the replay's readiness, checked against the brokers from a
// thread of its own so that neither the consumer loop nor a /metrics scrape ever waits for Kafka.
//
// Why not librdkafka's statistics (consumer_lag) or rd_kafka_get_watermark_offsets: both come
// from fetch responses, and a paused partition is not fetched, so its high watermark freezes
// (librdkafka issue #4996). The replay pauses exactly when the backend is down, which is when the
// lag matters most. So every `interval` the monitor asks the brokers: a metadata request (is
// Kafka reachable at all), the group's committed offsets (does the coordinator answer) and the
// end offsets of the assigned partitions (one ListOffsets per leader), each bounded by `timeout`.
//
// lag = end offset - committed offset (what `kafka-consumer-groups --describe` shows); a
// partition the group never committed counts from its first retained offset, since the replay
// starts there (auto.offset.reset=earliest).

#include "spillway/kafka/handles.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace spillway::replay {

struct partition_lag {
    std::int32_t partition = -1;
    std::int64_t end_offset = -1;  // the high watermark
    std::int64_t committed = -1;  // -1: the group never committed this partition
    std::int64_t lag = 0;
};

// The lag of one partition from what the brokers said (sans-I/O). `earliest` is the first
// retained offset, used when nothing was committed; nullopt when the end offset is unknown.
std::optional<std::int64_t> lag_of(std::int64_t end_offset, std::int64_t committed,
                                   std::int64_t earliest);

// What one check found.
struct kafka_check {
    std::optional<std::string> unreachable;  // the metadata request failed: why
    bool group_member = false;  // the consumer holds a member id in its group
    std::optional<std::string> coordinator;  // the committed-offsets request failed: why
};

// nullopt when ready, else the reason (sans-I/O). `checked` is false before the first check.
std::optional<std::string> replay_readiness(bool checked, const kafka_check& last);

class lag_monitor {
public:
    // `rk` is the group consumer's handle: it must outlive the monitor (stop() before closing).
    lag_monitor(rd_kafka_t* rk, std::string topic, std::chrono::milliseconds interval,
                std::chrono::milliseconds timeout);
    ~lag_monitor();
    lag_monitor(const lag_monitor&) = delete;
    lag_monitor& operator=(const lag_monitor&) = delete;

    void start();
    // Returns once the thread ended (at most one request timeout when Kafka is not answering).
    void stop();

    // Thread-safe snapshots of the last check.
    std::vector<partition_lag> lags() const;
    std::optional<std::string> readiness() const;

private:
    void loop();
    void check();
    std::vector<partition_lag> measure(rd_kafka_topic_partition_list_t* assigned,
                                       kafka_check& found);

    rd_kafka_t* rk_;
    std::string topic_;
    std::chrono::milliseconds interval_;
    std::chrono::milliseconds timeout_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool checked_ = false;
    kafka_check last_;
    std::vector<partition_lag> lags_;
    std::thread thread_;
};

}  // namespace spillway::replay
