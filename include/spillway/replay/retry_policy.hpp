#pragma once
// What to do with one queued request, decided without I/O (Boost.Redis style: the I/O layer calls
// the state machine with what happened and carries out the action it returns).
//
//   2xx/3xx                      -> delivered
//   4xx other than 408/429       -> dead letter (the request itself is wrong; retrying won't help)
//   502, 503, 504, a failure
//   after connecting (reset,
//   timeout, bad response)       -> what an outage also looks like: probe the backend first.
//                                   Down: not an attempt (wait for the backend, send the same
//                                   attempt again). Up: the message's own failure, as below.
//   other 5xx, 408, 429,
//   other status                 -> another attempt after an exponential backoff with jitter
//                                   (at least the Retry-After of a 429 or 503, up to
//                                   backoff_max), dead letter once replay.max_attempts were made
//   could not connect            -> not an attempt: wait until the backend answers a probe, then
//                                   send the same attempt again (an outage never dead-letters)

#include "spillway/config/config.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace spillway::replay {

using std::chrono::milliseconds;

enum class status_class { delivered, dead_letter, retry };

status_class classify_status(unsigned status);

// 502, 503, 504: what a backend (or a load balancer in front of it) answers when it is down, so a
// probe decides whether the attempt counts.
bool outage_status(unsigned status);

// Exponential backoff with "equal jitter": attempt n waits a uniform time in [d/2, d] where
// d = min(backoff_max, backoff_initial * 2^(n-1)); the jitter spreads retries of many messages
// that failed together.
class backoff {
public:
    // `random` returns a uniform value in [0, 1); injectable so tests are deterministic.
    backoff(milliseconds initial, milliseconds max, std::function<double()> random = {});

    milliseconds delay(unsigned attempt) const;
    milliseconds ceiling(unsigned attempt) const;
    milliseconds max() const { return max_; }

private:
    milliseconds initial_;
    milliseconds max_;
    std::function<double()> random_;
};

enum class action_kind {
    send,  // send the request with attempt number `attempt`
    wait_backoff,  // wait `delay`, then call on_backoff_elapsed()
    wait_backend,  // wait until the backend is up and at least `delay`, then on_backend_up()
    probe,  // the attempt met what an outage also causes: probe the backend, then on_probe()
    delivered,  // finished: the backend took it
    dead_letter,  // finished: produce it to the dead-letter topic with `reason`
};

struct action {
    action_kind kind = action_kind::send;
    unsigned attempt = 0;  // the X-Spillway-Replay-Attempt of a send; attempts made otherwise
    milliseconds delay{0};
    std::string reason;
    std::optional<unsigned> last_status;
};

// The state machine of one message's replay.
class replay_fsm {
public:
    // `prior_attempts`: the envelope's `attempts` (replays made before it was queued again).
    replay_fsm(unsigned max_attempts, const backoff& policy, unsigned prior_attempts = 0);

    action start();
    // `retry_after`: the response's Retry-After, honoured on a 429 or a 503 only.
    action on_response(unsigned status, std::optional<milliseconds> retry_after = std::nullopt);
    // Connected, but no complete response (reset, timeout): the backend may have seen it.
    action on_transport_failure(const std::string& detail);
    // After a `probe` action: what the probe found. Down: the attempt met an outage and does not
    // count; up: it counts, and is retried or dead-lettered like any failure.
    action on_probe(bool backend_up);
    // Could not connect: the backend is down; the attempt does not count.
    action on_connect_failure();
    action on_backoff_elapsed();
    action on_backend_up();

    unsigned attempts() const { return attempts_; }
    std::optional<unsigned> last_status() const { return last_status_; }

private:
    // A failure that waits for the probe's verdict before it counts.
    struct unconfirmed {
        std::string why;
        std::optional<unsigned> status;
        std::optional<milliseconds> retry_after;
    };

    action retry_or_give_up(std::string why, std::optional<milliseconds> retry_after);
    action send() const { return {action_kind::send, attempts_ + 1}; }

    unsigned max_attempts_;
    const backoff& policy_;
    unsigned attempts_;  // attempts made, prior ones included
    std::optional<unsigned> last_status_;
    std::optional<unconfirmed> unconfirmed_;
};

}  // namespace spillway::replay
