#include "spillway/proxy/backend_endpoint.hpp"

#include "spillway/core/text.hpp"
#include "spillway/runtime/logging.hpp"

#include <algorithm>

namespace spillway::proxy {

namespace {

constexpr std::uint32_t state_bits = 0x3;
constexpr std::uint32_t failures_pending_bit = 0x4;
constexpr unsigned generation_shift = 3;

circuit_state state_of(std::uint32_t word) {
    return static_cast<circuit_state>(word & state_bits);
}

std::uint32_t generation_of(std::uint32_t word) {
    return word >> generation_shift;
}

}  // namespace

backend_endpoint::backend_endpoint(config::host_port address,
                                   const config::circuit_breaker_config& cfg, unsigned workers)
    : address_(std::move(address)),
      name_(address_.to_string()),
      enabled_(cfg.enabled),
      open_duration_(cfg.open_duration),
      failure_threshold_(cfg.failure_threshold),
      machine_({cfg.failure_threshold, cfg.open_duration}),
      gauges_(workers) {}

circuit_breaker::ticket backend_endpoint::admit() {
    const auto word = word_.load(std::memory_order_acquire);
    if (!enabled_.load(std::memory_order_relaxed) || state_of(word) == circuit_state::closed) {
        return {admission::pass, generation_of(word)};
    }
    std::lock_guard lock(mutex_);
    const auto step = machine_.admit(std::chrono::steady_clock::now());
    if (step.entered) {
        publish();
        entered(*step.entered, {});
    }
    return step.granted;
}

void backend_endpoint::report(const circuit_breaker::ticket& t, verdict v, std::string_view cause) {
    if (!enabled_.load(std::memory_order_relaxed) ||
        (v == verdict::none && t.how == admission::pass)) {
        return;
    }
    if (v == verdict::success && t.how == admission::pass) {
        const auto word = word_.load(std::memory_order_acquire);
        if (state_of(word) == circuit_state::closed && (word & failures_pending_bit) == 0 &&
            generation_of(word) == t.generation) {
            return;  // the common case: nothing to reset
        }
    }
    std::lock_guard lock(mutex_);
    const auto entered_state = machine_.report(t, v, std::chrono::steady_clock::now());
    publish();
    if (entered_state) {
        entered(*entered_state, cause);
    }
}

void backend_endpoint::reconfigure(const config::circuit_breaker_config& cfg) {
    std::lock_guard lock(mutex_);
    if (cfg.enabled == enabled_.load() && cfg.failure_threshold == failure_threshold_ &&
        cfg.open_duration == open_duration_) {
        return;  // unchanged: an open circuit stays open
    }
    failure_threshold_ = cfg.failure_threshold;
    open_duration_ = cfg.open_duration;
    machine_ = circuit_breaker({cfg.failure_threshold, cfg.open_duration});
    publish();
    enabled_.store(cfg.enabled);
}

circuit_state backend_endpoint::state() const {
    return state_of(word_.load(std::memory_order_relaxed));
}

void backend_endpoint::publish() {
    const std::uint32_t word = (machine_.generation() << generation_shift) |
                               (machine_.consecutive_failures() > 0 ? failures_pending_bit : 0) |
                               static_cast<std::uint32_t>(machine_.state());
    word_.store(word, std::memory_order_release);
}

// Transitions are rare: a log line each (warn when requests start being refused) and a count.
void backend_endpoint::entered(circuit_state s, std::string_view cause) {
    static const auto log = runtime::logger("proxy");
    transitions_[static_cast<std::size_t>(s)].fetch_add(1, std::memory_order_relaxed);
    switch (s) {
        case circuit_state::open:
            log->warn(
                "circuit for backend {} opened ({}; failure threshold {}): its requests are "
                "captured as circuit_open for {} ms, then one probe is let through",
                name_, cause.empty() ? std::string("probe failed") : core::log_escaped(cause),
                failure_threshold_, open_duration_.count());
            break;
        case circuit_state::half_open:
            log->info("circuit for backend {} half-open: one probe request is let through", name_);
            break;
        case circuit_state::closed:
            log->info("circuit for backend {} closed: the probe succeeded", name_);
            break;
    }
}

backend_endpoints make_endpoints(const config::config& cfg, const backend_endpoints& previous) {
    backend_endpoints out;
    for (const auto& address : cfg.backend.endpoints) {
        const auto name = address.to_string();
        const auto kept = std::find_if(previous.begin(), previous.end(), [&](const auto& e) {
            // http:// and https:// to one port are two backends
            return e->name() == name && e->address().tls == address.tls;
        });
        if (kept != previous.end()) {
            (*kept)->reconfigure(cfg.circuit_breaker);
            out.push_back(*kept);
            continue;
        }
        out.push_back(
            std::make_shared<backend_endpoint>(address, cfg.circuit_breaker, cfg.worker_threads()));
    }
    return out;
}

}  // namespace spillway::proxy
