#pragma once
// The drainer: a background thread that sends spooled records to Kafka, oldest first, and
// deletes each one only after its delivery report said success. When Kafka fails it stops
// sending, lets what is in flight report, backs off (exponentially) and resumes from the oldest
// record that was not delivered. A record Kafka refuses for good (too large for the topic, not
// authorised) is moved to the spool's quarantine table instead of blocking the drain. At most
// max_in_flight records (and bytes) are handed to the producer at once, so a large backlog never
// floods librdkafka's queue.
//
// Delivery is at least once: a record whose report was lost to a crash, or which timed out in
// flight but was written all the same, is sent again. The envelope id makes that harmless. A
// delivered record whose deletion fails is never sent again by this process: the deletion is
// retried with the same backoff, and counted, logged and shown in /ready until it succeeds.

#include "spillway/kafka/producer.hpp"
#include "spillway/spool/spool.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace spillway::spool {

struct drainer_options {
    std::size_t max_in_flight_records = 1000;
    std::uint64_t max_in_flight_bytes = 64ull << 20;
    std::chrono::milliseconds backoff_initial{200};
    std::chrono::milliseconds backoff_max{10000};
    // A periodic look at the spool even without a wake-up (a record appended by another way).
    std::chrono::milliseconds rescan_interval{1000};
};

class drainer {
public:
    // Both must outlive the drainer (stop it before closing either).
    drainer(spool& s, kafka::producer& p, drainer_options options = {});
    ~drainer();  // stop(0)

    drainer(const drainer&) = delete;
    drainer& operator=(const drainer&) = delete;

    void start();

    // Sends nothing more, waits up to `timeout` for the reports of what is in flight (deleting
    // what was delivered), then returns. What is still unreported stays in the spool.
    void stop(std::chrono::milliseconds timeout) noexcept;

    // Metrics.
    std::uint64_t delivered() const noexcept { return delivered_.load(); }
    std::uint64_t failed() const noexcept { return failed_.load(); }
    std::uint64_t produced() const noexcept { return produced_.load(); }
    std::uint64_t quarantined() const noexcept { return quarantined_.load(); }
    std::size_t max_in_flight_seen() const noexcept { return max_in_flight_seen_.load(); }
    // Deletions of delivered records that the spool failed (each is retried), and how many
    // delivered records wait for their deletion to be retried now (for /ready).
    std::uint64_t delete_failures() const noexcept { return delete_failures_.load(); }
    std::uint64_t undeleted() const noexcept { return undeleted_.load(); }

    struct shared;  // what the delivery callbacks and the spool's listener reach (drainer.cpp)

private:
    spool& spool_;
    kafka::producer& producer_;
    drainer_options options_;
    std::shared_ptr<shared> shared_;
    std::thread thread_;
    std::atomic<std::uint64_t> delivered_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> produced_{0};
    std::atomic<std::uint64_t> quarantined_{0};
    std::atomic<std::size_t> max_in_flight_seen_{0};
    std::atomic<std::uint64_t> delete_failures_{0};
    std::atomic<std::uint64_t> undeleted_{0};

    struct loop_state;

    void run() noexcept;
    void handle_reports(loop_state& st);
    bool send_more(loop_state& st);
    void quarantine(loop_state& st, std::int64_t seq, const std::string& reason);
    void queue_delete(std::vector<std::int64_t> seqs);
    void on_delete_failed(loop_state& st, std::vector<std::int64_t> seqs);
    void retry_deletes(loop_state& st);
    std::chrono::milliseconds wait_time(const loop_state& st) const;
    void finish(loop_state& st);
};

}  // namespace spillway::spool
