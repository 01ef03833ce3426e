#pragma once
// One backend endpoint as every worker thread sees it: its address, its circuit breaker, and the
// gauges of the workers' connection pools to it. The workers each have their own pool (no locks
// on the data path); the circuit is shared, because a dead endpoint is dead for all of them.
//
// The circuit is read on every request, so its common case costs one atomic load: the state, a
// "failures pending" bit and the closed period's generation are mirrored in one word, and the
// mutex around the state machine is taken only when something may change (a failure, a
// transition, a success that resets a count). A race with another worker can let one more
// request through a circuit that is just opening, or count a failure a success already reset:
// harmless at the scale of a threshold.
//
// A reload keeps an endpoint whose address stays (its circuit and its counters go on) and
// changes its breaker's settings in place; see make_endpoints.

#include "spillway/config/config.hpp"
#include "spillway/proxy/circuit_breaker.hpp"
#include "spillway/upstream/pool_gauges.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace spillway::proxy {

class backend_endpoint {
public:
    backend_endpoint(config::host_port address, const config::circuit_breaker_config& cfg,
                     unsigned workers);

    const config::host_port& address() const { return address_; }
    const std::string& name() const { return name_; }  // host:port

    // Whether a request may go to this endpoint now (thread-safe).
    circuit_breaker::ticket admit();
    // What the request let through found; `cause` names a failure in the log line of an open.
    void report(const circuit_breaker::ticket& t, verdict v, std::string_view cause = {});

    // New circuit_breaker settings (a reload): when they differ, the circuit starts again closed
    // under them (its transition counters go on). Thread-safe.
    void reconfigure(const config::circuit_breaker_config& cfg);

    circuit_state state() const;
    std::uint64_t transitions_to(circuit_state s) const {
        return transitions_[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
    }

    upstream::pool_gauges& gauges(unsigned worker) { return gauges_[worker]; }
    const std::vector<upstream::pool_gauges>& all_gauges() const { return gauges_; }

private:
    void publish();  // mirrors the machine into word_; with mutex_ held
    void entered(circuit_state s, std::string_view cause);

    config::host_port address_;
    std::string name_;
    std::atomic<bool> enabled_;  // read without the mutex; the rest below only with it
    std::chrono::milliseconds open_duration_;
    unsigned failure_threshold_;
    std::atomic<std::uint32_t> word_{0};  // generation << 3 | failures pending << 2 | state
    std::mutex mutex_;
    circuit_breaker machine_;
    std::array<std::atomic<std::uint64_t>, 3> transitions_{};
    std::vector<upstream::pool_gauges> gauges_;
};

// Shared: a request in flight keeps the endpoints of the configuration it started with, even when
// a reload removed one.
using backend_endpoints = std::vector<std::shared_ptr<backend_endpoint>>;

// cfg.backend.endpoints, each with a circuit per cfg.circuit_breaker and gauges per worker. An
// endpoint of `previous` with the same address is kept (reconfigured), so that a reload does not
// forget that it is down.
backend_endpoints make_endpoints(const config::config& cfg, const backend_endpoints& previous = {});

}  // namespace spillway::proxy
