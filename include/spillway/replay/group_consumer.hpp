#pragma once
// The replay's Kafka side: a librdkafka high-level consumer in group replay.group_id, subscribed
// to kafka.topic, driven from one Asio thread. librdkafka signals the consumer queue through a
// pipe (rd_kafka_queue_io_event_enable), so waiting for messages is an async_wait on a file
// descriptor, not a blocking poll; rebalance callbacks run inside poll() on that same thread.
//
// Offsets: enable.auto.offset.store=false and auto-commit on. Only the application stores an
// offset (store(): the next offset after the last contiguous finished message) and librdkafka
// commits what is stored every auto.commit.interval.ms, on a rebalance and on close. A crash can
// lose at most the last interval's commits, which re-delivers (never skips) those messages; no
// message is ever committed before it is finished, and commits cost nothing per message.

#include "spillway/config/config.hpp"
#include "spillway/kafka/handles.hpp"
#include "spillway/net/task.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace spillway::replay {

namespace net = boost::asio;

struct fetched_message {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::string key;
    std::string value;
};

struct rebalance_handlers {
    std::function<void(const std::vector<std::int32_t>&)> assigned;
    std::function<void(const std::vector<std::int32_t>&)> revoked;
};

class group_consumer {
public:
    // Throws config::config_error (start-up only) when librdkafka rejects the configuration.
    group_consumer(netx::executor ex, const config::config& cfg, rebalance_handlers handlers);
    ~group_consumer();
    group_consumer(const group_consumer&) = delete;
    group_consumer& operator=(const group_consumer&) = delete;

    // The next message, or nothing when none is queued now. Never blocks.
    std::optional<fetched_message> poll();

    // Completes when the consumer queue may hold something, or after `at_most`.
    netx::task<void> wait(std::chrono::milliseconds at_most);
    // Makes a pending wait() return now.
    void wake();

    // Stores `next_offset` for the partition; auto-commit will commit it.
    void store(std::int32_t partition, std::int64_t next_offset);

    // Pauses or resumes every assigned partition; partitions assigned later take the same state.
    void set_paused(bool paused);
    bool paused() const { return paused_; }

    // Commits the stored offsets now and waits for the answer.
    void commit_now();

    // Leaves the group (commits stored offsets); the consumer is unusable afterwards.
    void close();

    const std::string& topic() const { return topic_; }
    // max.poll.interval.ms as configured (librdkafka's default unless kafka.properties sets it):
    // going that long without a poll makes the consumer leave its group.
    std::chrono::milliseconds max_poll_interval() const;
    // For the lag monitor's queries (librdkafka's handle is thread-safe).
    rd_kafka_t* handle() const { return rk_.get(); }

private:
    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* parts, void* opaque) noexcept;
    void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
    void pause_list(rd_kafka_topic_partition_list_t* parts, bool paused);

    std::string topic_;
    kafka::kafka_handle rk_;
    kafka::queue_handle queue_;
    int pipe_[2] = {-1, -1};
    net::posix::basic_stream_descriptor<netx::executor> wakeup_;
    netx::steady_timer wait_timer_;
    rebalance_handlers handlers_;
    std::vector<std::int32_t> assigned_;
    bool paused_ = false;
    bool closed_ = false;
};

}  // namespace spillway::replay
