#include "spillway/proxy/circuit_breaker.hpp"

namespace spillway::proxy {

std::string_view to_string(circuit_state state) {
    switch (state) {
        case circuit_state::closed:
            return "closed";
        case circuit_state::open:
            return "open";
        case circuit_state::half_open:
            return "half_open";
    }
    return "unknown";
}

circuit_breaker::step circuit_breaker::admit(time_point now) {
    switch (state_) {
        case circuit_state::closed:
            return {{admission::pass, generation_}, std::nullopt};
        case circuit_state::open:
            if (now < probe_due()) {
                return {{admission::refuse, generation_}, std::nullopt};
            }
            state_ = circuit_state::half_open;
            probe_in_flight_ = true;
            return {{admission::probe, generation_}, circuit_state::half_open};
        case circuit_state::half_open:
            if (probe_in_flight_) {
                return {{admission::refuse, generation_}, std::nullopt};
            }
            probe_in_flight_ = true;  // the last probe was given back without a verdict
            return {{admission::probe, generation_}, std::nullopt};
    }
    return {{admission::refuse, generation_}, std::nullopt};
}

std::optional<circuit_state> circuit_breaker::report(const ticket& t, verdict v, time_point now) {
    if (t.how == admission::probe) {
        if (state_ != circuit_state::half_open || t.generation != generation_) {
            return std::nullopt;  // cannot happen with one probe at a time; be safe anyway
        }
        probe_in_flight_ = false;
        if (v == verdict::success) {
            state_ = circuit_state::closed;
            failures_ = 0;
            generation_ = (generation_ + 1) & generation_mask;
            return circuit_state::closed;
        }
        if (v == verdict::failure) {
            open(now);
            return circuit_state::open;
        }
        return std::nullopt;  // given back: the next request probes
    }
    // A request let through while closed counts only in the closed period it was admitted in.
    if (t.how != admission::pass || state_ != circuit_state::closed ||
        t.generation != generation_) {
        return std::nullopt;
    }
    if (v == verdict::success) {
        failures_ = 0;
    } else if (v == verdict::failure && ++failures_ >= settings_.failure_threshold) {
        open(now);
        return circuit_state::open;
    }
    return std::nullopt;
}

void circuit_breaker::open(time_point now) {
    state_ = circuit_state::open;
    opened_at_ = now;
    failures_ = 0;
    probe_in_flight_ = false;
}

}  // namespace spillway::proxy
