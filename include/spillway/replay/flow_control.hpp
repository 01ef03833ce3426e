#pragma once
// When the consumer pauses its partitions, decided without I/O.
//
// Partitions are paused (librdkafka pause/resume) for any of three reasons: the backend is down
// (nothing can be delivered, so nothing more is fetched while it is probed), the local backlog has
// stayed full for backlog_limits::stuck_after (fetched messages wait for one of
// replay.concurrency slots, all busy with retries), or the process is stopping.
// They resume only when no reason is left. Pausing instead of not polling keeps the consumer
// polling, so it stays in its group (max.poll.interval.ms) during an outage of any length.

#include "spillway/replay/retry_policy.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace spillway::replay {

enum class pause_reason : std::uint8_t { backend_down = 1, backlog_full = 2, stopping = 4 };

enum class pause_change { none, pause, resume };

class pause_control {
public:
    pause_change set(pause_reason reason, bool active);
    bool paused() const { return reasons_ != 0; }
    bool has(pause_reason reason) const;

private:
    std::uint8_t reasons_ = 0;
};

// The backend's health as the replay sees it: up until a connect fails, or a probe confirms
// what an attempt met (502, 503, 504, a reset, a timeout); then down until a probe finds it up.
// A probe is an HTTP request to replay.probe_path: any status but 502, 503 or 504 means up, so a
// load balancer answering 503 for a dead backend keeps it down.
class backend_gate {
public:
    enum class change { none, went_down, came_up };

    change on_connect_failure();
    // A status answered to an attempt: anything but 502/503/504 shows the backend is up.
    change on_answer(unsigned status);
    change on_probe(bool up);
    bool up() const { return up_; }

private:
    change set(bool up);

    bool up_ = true;
};

// What a probe's result says: `status` is its answer, nothing when it got none (no connection,
// a timeout, a reset, a response that could not be read).
bool probe_says_up(std::optional<unsigned> status);

// Backlog watermarks: the backlog is full from `high` waiting messages until it is back at
// `low`. A full backlog takes no more messages from librdkafka, whose own bounded queue
// (queued.max.messages.kbytes) then holds the prefetched ones and stops fetching. Only a backlog
// that stays full for `stuck_after` (every slot waiting on retries) pauses the partitions, so
// the consumer can go on polling within max.poll.interval.ms and stay in its group: a pause
// purges librdkafka's prefetched messages, which are then fetched again on resume, so it must
// not happen on every fill (measured: it held the replay to about 5,000 messages/s).
struct backlog_limits {
    std::size_t high = 0;
    std::size_t low = 0;
    std::chrono::milliseconds stuck_after{10000};  // the engine lowers it to a quarter of
                                                   // max.poll.interval.ms when that is shorter

    static backlog_limits for_concurrency(unsigned concurrency);
    // Whether the backlog_full reason should be active, given the current state.
    bool full(std::size_t waiting, bool currently_full) const;
};

}  // namespace spillway::replay
