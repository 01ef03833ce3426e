#include "spillway/replay/flow_control.hpp"

#include <algorithm>

namespace spillway::replay {

pause_change pause_control::set(pause_reason reason, bool active) {
    bool was = paused();
    auto bit = static_cast<std::uint8_t>(reason);
    reasons_ = active ? (reasons_ | bit) : (reasons_ & ~bit);
    if (was == paused()) {
        return pause_change::none;
    }
    return paused() ? pause_change::pause : pause_change::resume;
}

bool pause_control::has(pause_reason reason) const {
    return (reasons_ & static_cast<std::uint8_t>(reason)) != 0;
}

backend_gate::change backend_gate::set(bool up) {
    if (up == up_) {
        return change::none;
    }
    up_ = up;
    return up ? change::came_up : change::went_down;
}

backend_gate::change backend_gate::on_connect_failure() {
    return set(false);
}

backend_gate::change backend_gate::on_answer(unsigned status) {
    return outage_status(status) ? change::none : set(true);
}

backend_gate::change backend_gate::on_probe(bool up) {
    return set(up);
}

bool probe_says_up(std::optional<unsigned> status) {
    return status && !outage_status(*status);
}

backlog_limits backlog_limits::for_concurrency(unsigned concurrency) {
    // Enough taken ahead that the slots never wait for a poll at tens of thousands of messages a
    // second; small enough to cost only a few megabytes (librdkafka's queue holds the rest).
    std::size_t high = std::max<std::size_t>(1024, std::size_t{concurrency} * 64);
    return {high, high / 2};
}

bool backlog_limits::full(std::size_t waiting, bool currently_full) const {
    return currently_full ? waiting > low : waiting >= high;
}

}  // namespace spillway::replay
