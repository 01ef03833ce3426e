#pragma once
// The replay consumer's I/O layer: fetches envelopes (group_consumer), replays each to the backend
// (backend_client) as the sans-I/O decisions say (replay_fsm, pause_control, offset_tracker,
// rate_limiter, concurrency_limit; backend_watch for the outage rule), dead-letters through the
// producer, and stores offsets of finished messages. Everything runs on one Asio thread; librdkafka
// has its own threads.
//
// A message is "finished" when the backend took it or when the dead-letter topic acknowledged
// it; only then can its offset count. Everything else (a shutdown in the middle, a revoked
// partition) is abandoned: not committed, so it is replayed again later. A revoked partition's
// exchanges on the wire are cancelled (their connections closed) so that its new owner is not
// sending the same request at the same moment. An exception out of a message's replay is caught,
// counted and the message replayed again: nothing is left unfinished until a restart.

#include "spillway/config/config.hpp"
#include "spillway/envelope/envelope.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/metrics/metrics.hpp"
#include "spillway/replay/backend_client.hpp"
#include "spillway/replay/backend_watch.hpp"
#include "spillway/replay/concurrency_limit.hpp"
#include "spillway/replay/dead_letter_sender.hpp"
#include "spillway/replay/flow_control.hpp"
#include "spillway/replay/group_consumer.hpp"
#include "spillway/replay/lag_monitor.hpp"
#include "spillway/replay/offset_tracker.hpp"
#include "spillway/replay/rate_limiter.hpp"
#include "spillway/replay/replay_counters.hpp"
#include "spillway/replay/retry_policy.hpp"

#include <boost/asio/io_context.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>

namespace spillway::replay {

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

    // SIGHUP (docs/replay.md, "Reloading"): replay.rate_limit and replay.concurrency of `next`
    // take effect at once (the rate's schedule starts again; a larger concurrency takes from the
    // backlog now, a smaller one lets the requests in flight finish). The rest of `next` is
    // ignored: config::replay_key_class says what needs a restart. Call on the engine's thread.
    void reload(const config::config& next);

    const replay_counters& counters() const { return counters_; }
    bool backend_up() const { return watch_.up(); }

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
    void launch_from_backlog();  // while there is room under replay.concurrency
    netx::task<void> handle(work w);
    netx::task<result> replay_guarded(const work& w);
    netx::task<result> replay(const work& w);
    // One step of the state machine: carries out `a` and returns the next action, or nothing
    // when the message is abandoned (stopping, or its partition revoked). `sent_at`: when the
    // last attempt went out (set by a send, read by a probe).
    netx::task<std::optional<action>> step(replay_fsm& fsm, const action& a,
                                           const outgoing_request& req, const message_ref& ref,
                                           std::chrono::steady_clock::time_point& sent_at);
    netx::task<result> dead_letter(const kafka::record& rec);
    netx::task<std::optional<result>> dead_letter_internal_error(const work& w,
                                                                 const std::string& what);
    // False when stopping; `partition`'s revoke ends it early too (-1: none).
    netx::task<bool> sleep(std::chrono::steady_clock::duration d, std::int32_t partition = -1);
    netx::task<bool> wait_backend(const message_ref& ref);
    // Waits until fewer requests than the pacing limit are on the wire, and takes that place;
    // false when stopping or `ref`'s partition was revoked (no place taken then).
    netx::task<bool> take_send_slot(const message_ref& ref);
    // The rate limit's wait, then the exchange, whose answer moves the pacing. Nothing when
    // stopping or the partition was revoked meanwhile. Call with a send slot taken.
    netx::task<std::optional<send_result>> send_paced(
        const outgoing_request& req, unsigned attempt, const message_ref& ref,
        std::chrono::steady_clock::time_point& sent_at);
    void release_send_slot();
    void wake_send_waiters();  // as many as there are free places
    netx::task<void> wait_idle(std::chrono::steady_clock::time_point deadline);
    void throw_if_fault_injected(const envelope::envelope& env);
    void set_pause(pause_reason reason, bool active);
    void update_backlog();
    void on_assigned(const std::vector<std::int32_t>& parts);
    void publish_limit();  // the concurrency limit, for /metrics
    void on_revoked(const std::vector<std::int32_t>& parts);

    net::io_context& ioc_;
    std::shared_ptr<spdlog::logger> log_;  // looked up once: the registry takes a lock
    config::config cfg_;
    std::unique_ptr<kafka::producer> dlq_;
    backend_client client_;
    replay_counters counters_;  // before everything that counts in it
    backend_watch watch_;
    group_consumer consumer_;
    lag_monitor lag_;  // after consumer_: stopped and destroyed before it
    std::atomic<bool> stopping_flag_{false};  // stopping_ for the admin thread
    offset_tracker tracker_;
    backoff backoff_;
    rate_limiter limiter_;
    // Requests on the wire at most now (AIMD, replay.adaptive): a message waits for a place before
    // each attempt, so retries in backoff are paced as well as first attempts.
    concurrency_limit pace_;
    std::size_t on_wire_ = 0;
    std::deque<netx::steady_timer*> send_waiters_;  // oldest first; also in sleepers_
    pause_control pause_;
    backlog_limits limits_;
    std::deque<work> backlog_;
    // Set while the backlog is full (from high until back at low), with when it filled.
    std::optional<std::chrono::steady_clock::time_point> backlog_full_since_;
    bool poll_held_ = false;  // the poll loop stopped taking messages: wake it when there is room
    std::size_t in_flight_ = 0;
    bool stopping_ = false;
    // Timers of sleeping coroutines, with the partition each belongs to (-1: none): cancelled by
    // stop(), or by a revoke of that partition.
    std::map<netx::steady_timer*, std::int32_t> sleepers_;
    std::multimap<std::int32_t, exchange_cancel*> exchanges_;  // sends on the wire, by partition
    netx::steady_timer idle_event_;  // cancelled when in_flight_ drops to zero
    dead_letter_sender dead_letters_;  // through dlq_
    // Test hook (docs/replay.md, "Testing"): SPILLWAY_TEST_THROW_ON_URI makes the replay of
    // messages with that uri throw, SPILLWAY_TEST_THROW_TIMES times (default 1).
    std::string fault_uri_;
    unsigned faults_left_ = 0;
};

}  // namespace spillway::replay
