#pragma once
// The replay consumer's I/O layer: fetches envelopes (group_consumer), replays each to the backend
// (backend_client) as the sans-I/O decisions say (replay_fsm, backend_gate, pause_control,
// offset_tracker, rate_limiter), dead-letters through the producer, and stores offsets of
// finished messages. Everything runs on one Asio thread; librdkafka has its own threads.
//
// A message is "finished" when the backend took it or when the dead-letter topic acknowledged
// it; only then can its offset count. Everything else (a shutdown in the middle, a revoked
// partition) is abandoned: not committed, so it is replayed again later.

#include "spillway/config/config.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/metrics/metrics.hpp"
#include "spillway/replay/backend_client.hpp"
#include "spillway/replay/dead_letter_sender.hpp"
#include "spillway/replay/flow_control.hpp"
#include "spillway/replay/group_consumer.hpp"
#include "spillway/replay/lag_monitor.hpp"
#include "spillway/replay/offset_tracker.hpp"
#include "spillway/replay/rate_limiter.hpp"
#include "spillway/replay/retry_policy.hpp"

#include <boost/asio/io_context.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>

namespace spillway::replay {

// Counters for logs, tests and the admin endpoint (replay_metrics.cpp). Written on the engine's
// thread, read by the admin thread: relaxed atomics.
struct replay_counters {
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> retried{0};  // attempts that will be tried again
    std::atomic<std::uint64_t> dead_lettered{0};
    std::atomic<std::uint64_t> abandoned{0};  // left unfinished at shutdown or on a revoke
    std::atomic<std::uint64_t> backend_outages{0};
    std::atomic<std::uint64_t> in_flight{0};
    std::atomic<std::uint64_t> attempts{0};  // requests the backend received (a status or
                                             // a failure after connecting)
    std::atomic<std::uint64_t> backlog{0};  // fetched, waiting for a slot
    std::atomic<bool> paused_backend_down{false};
    std::atomic<bool> paused_backlog_full{false};
    metrics::histogram attempt_duration;  // one attempt: send -> status or failure
};

class engine {
public:
    // Throws config::config_error at start-up when Kafka rejects the configuration.
    engine(net::io_context& ioc, const config::config& cfg, std::unique_ptr<kafka::producer> dlq);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    // Runs until stop(); then finishes or abandons in-flight work (bounded by
    // shutdown_timeout_ms), commits what is finished and leaves the group.
    netx::task<void> run();

    // Stops fetching and starts the shutdown. Call on the engine's thread.
    void stop();

    const replay_counters& counters() const { return counters_; }
    bool backend_up() const { return gate_.up(); }

    // For the admin thread: lag per partition, readiness (Kafka reachable and in the group),
    // the dead-letter producer's delivery latency. Thread-safe.
    std::vector<partition_lag> lags() const { return lag_.lags(); }
    std::optional<std::string> readiness() const;
    const kafka::producer& dlq_producer() const { return *dlq_; }
    const std::string& topic() const { return consumer_.topic(); }

private:
    struct work {
        fetched_message msg;
        message_ref ref;
    };
    enum class result { finished, abandoned };

    void on_message(fetched_message&& m);
    void launch(work&& w);
    netx::task<void> handle(work w);
    netx::task<result> replay(const work& w);
    // One step of the state machine: carries out `a` and returns the next action, or nothing
    // when the message is abandoned (stopping).
    netx::task<std::optional<action>> step(replay_fsm& fsm, const action& a,
                                           const outgoing_request& req);
    netx::task<result> dead_letter(const kafka::record& rec);
    netx::task<bool> sleep(std::chrono::steady_clock::duration d);
    netx::task<bool> wait_backend();
    netx::task<void> probe_loop();
    netx::task<void> wait_idle(std::chrono::steady_clock::time_point deadline);
    void on_connect_failure(const std::string& detail);
    void set_pause(pause_reason reason, bool active);
    void update_backlog();
    void on_assigned(const std::vector<std::int32_t>& parts);
    void on_revoked(const std::vector<std::int32_t>& parts);

    net::io_context& ioc_;
    std::shared_ptr<spdlog::logger> log_;  // looked up once: the registry takes a lock
    config::config cfg_;
    std::unique_ptr<kafka::producer> dlq_;
    backend_client client_;
    group_consumer consumer_;
    lag_monitor lag_;  // after consumer_: stopped and destroyed before it
    std::atomic<bool> stopping_flag_{false};  // stopping_ for the admin thread
    offset_tracker tracker_;
    backoff backoff_;
    rate_limiter limiter_;
    pause_control pause_;
    backend_gate gate_;
    backlog_limits limits_;
    std::deque<work> backlog_;
    // Set while the backlog is full (from high until back at low), with when it filled.
    std::optional<std::chrono::steady_clock::time_point> backlog_full_since_;
    bool poll_held_ = false;  // the poll loop stopped taking messages: wake it when there is room
    std::size_t in_flight_ = 0;
    bool stopping_ = false;
    bool probing_ = false;
    std::set<netx::steady_timer*> sleepers_;  // cancelled by stop()
    netx::steady_timer backend_event_;  // cancelled when the backend comes back or on stop
    netx::steady_timer idle_event_;  // cancelled when in_flight_ drops to zero
    dead_letter_sender dead_letters_;  // through dlq_
    replay_counters counters_;
};

}  // namespace spillway::replay
