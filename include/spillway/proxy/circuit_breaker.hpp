#pragma once
// The circuit breaker of one backend endpoint, as a sans-I/O state machine: it is told the time
// and what happened, and says whether a request may go to the endpoint. No clock, no lock, no
// logging here; `shared_circuit` (endpoints.hpp) wraps it for the worker threads.
//
//   closed ──(failure_threshold consecutive failures)──► open
//   open ──(open_duration passed; the next request is the probe)──► half_open
//   half_open ──(probe succeeded)──► closed        half_open ──(probe failed)──► open
//
// A failure is a capture-worthy one (connect_error, timeout, upstream_status, upstream_reset);
// a success is a response head the proxy does not capture (a 404 or a 500 passed through too:
// the endpoint is alive and answering). While half-open exactly one probe is in flight; every
// other request is refused (the proxy captures it as circuit_open).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace spillway::proxy {

enum class circuit_state : std::uint8_t { closed = 0, open = 1, half_open = 2 };

std::string_view to_string(circuit_state state);

// What the breaker lets one request do.
enum class admission : std::uint8_t {
    pass,  // the circuit is closed: go ahead
    probe,  // the one trial request of a half-open circuit
    refuse,  // open (or half-open with its probe in flight): do not try this endpoint
};

// What a request that was let through found out about the endpoint.
enum class verdict : std::uint8_t {
    success,  // a response head that is not captured
    failure,  // a capture-worthy failure
    none,  // it ended without testing the endpoint (abandoned); a probe is given back
};

class circuit_breaker {
public:
    using time_point = std::chrono::steady_clock::time_point;

    struct settings {
        unsigned failure_threshold = 5;  // >= 1
        std::chrono::milliseconds open_duration{10000};
    };

    // A request's permission, with the closed period it belongs to: a report from a request let
    // through in an earlier closed period (before the circuit opened) is stale and ignored.
    struct ticket {
        admission how = admission::refuse;
        std::uint32_t generation = 0;
    };

    // The result of admit() and report(): the state entered, when it changed.
    struct step {
        ticket granted;  // admit() only
        std::optional<circuit_state> entered;  // a transition happened
    };

    // Generations wrap at 29 bits, so that one fits in an atomic word beside the state.
    static constexpr std::uint32_t generation_mask = (1u << 29) - 1;

    explicit circuit_breaker(settings s) : settings_(s) {}

    step admit(time_point now);
    std::optional<circuit_state> report(const ticket& t, verdict v, time_point now);

    circuit_state state() const { return state_; }
    unsigned consecutive_failures() const { return failures_; }
    std::uint32_t generation() const { return generation_; }
    // When an open circuit lets its probe through (meaningful while open).
    time_point probe_due() const { return opened_at_ + settings_.open_duration; }

private:
    void open(time_point now);

    settings settings_;
    circuit_state state_ = circuit_state::closed;
    unsigned failures_ = 0;  // consecutive, while closed
    std::uint32_t generation_ = 0;  // incremented each time the circuit closes
    time_point opened_at_{};
    bool probe_in_flight_ = false;  // half-open only
};

}  // namespace spillway::proxy
