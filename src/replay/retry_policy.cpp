#include "spillway/replay/retry_policy.hpp"

#include <algorithm>
#include <random>

namespace spillway::replay {

status_class classify_status(unsigned status) {
    if (status >= 200 && status < 400) {
        return status_class::delivered;
    }
    if (status >= 400 && status < 500 && status != 408 && status != 429) {
        return status_class::dead_letter;
    }
    // 5xx, 408, 429, and anything a backend should not answer (1xx as final, >= 600).
    return status_class::retry;
}

namespace {

// Jitter only spreads retries in time so replays of one outage do not arrive in step; a client
// that predicted it would learn when its own request is retried, nothing more. So a per-thread
// engine seeded once from the OS is enough, and the retry path costs no syscall.
double thread_random() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

backoff::backoff(milliseconds initial, milliseconds max, std::function<double()> random)
    : initial_(std::max(initial, milliseconds{1})),
      max_(std::max(max, initial_)),
      random_(random ? std::move(random) : std::function<double()>(thread_random)) {}

milliseconds backoff::ceiling(unsigned attempt) const {
    auto d = initial_;
    for (unsigned i = 1; i < attempt && d < max_; ++i) {
        d *= 2;
    }
    return std::min(d, max_);
}

milliseconds backoff::delay(unsigned attempt) const {
    auto d = ceiling(attempt);
    auto half = d / 2;
    auto spread = static_cast<double>((d - half).count()) * random_();
    return half + milliseconds{static_cast<milliseconds::rep>(spread)};
}

replay_fsm::replay_fsm(unsigned max_attempts, const backoff& policy, unsigned prior_attempts)
    : max_attempts_(std::max(max_attempts, 1u)), policy_(policy), attempts_(prior_attempts) {}

action replay_fsm::start() {
    if (attempts_ >= max_attempts_) {
        return {action_kind::dead_letter, attempts_, {}, "max attempts reached before replay"};
    }
    return send();
}

action replay_fsm::on_response(unsigned status, std::optional<milliseconds> retry_after) {
    ++attempts_;
    last_status_ = status;
    switch (classify_status(status)) {
        case status_class::delivered:
            return {action_kind::delivered, attempts_, {}, {}, status};
        case status_class::dead_letter:
            return {action_kind::dead_letter,
                    attempts_,
                    {},
                    "rejected with status " + std::to_string(status),
                    status};
        case status_class::retry:
            break;
    }
    return retry_or_give_up("status " + std::to_string(status), retry_after);
}

action replay_fsm::on_transport_failure(const std::string& detail) {
    ++attempts_;
    return retry_or_give_up(detail, std::nullopt);
}

action replay_fsm::on_connect_failure() {
    return {action_kind::wait_backend, attempts_};
}

action replay_fsm::on_backoff_elapsed() {
    return send();
}

action replay_fsm::on_backend_up() {
    return send();
}

action replay_fsm::retry_or_give_up(std::string why, std::optional<milliseconds> retry_after) {
    if (attempts_ >= max_attempts_) {
        return {action_kind::dead_letter,
                attempts_,
                {},
                "max attempts (" + std::to_string(max_attempts_) + ") reached, last: " + why,
                last_status_};
    }
    auto delay = policy_.delay(attempts_);
    if (retry_after) {
        // The backend's Retry-After is honoured, within the configured ceiling.
        delay = std::clamp(*retry_after, delay, std::max(delay, policy_.ceiling(64)));
    }
    return {action_kind::wait_backoff, attempts_, delay, std::move(why), last_status_};
}

}  // namespace spillway::replay
