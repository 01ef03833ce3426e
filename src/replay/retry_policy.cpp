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

bool outage_status(unsigned status) {
    return status == 502 || status == 503 || status == 504;
}

namespace {

// Only these two statuses carry a Retry-After that means "come back then" (RFC 9110, 10.2.3);
// elsewhere it is ignored.
std::optional<milliseconds> honoured(unsigned status, std::optional<milliseconds> retry_after) {
    return status == 429 || status == 503 ? retry_after : std::nullopt;
}

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
    retry_after = honoured(status, retry_after);
    if (outage_status(status)) {
        unconfirmed_ = unconfirmed{"status " + std::to_string(status), status, retry_after};
        return {action_kind::probe, attempts_ + 1, {}, unconfirmed_->why, status};
    }
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
    unconfirmed_ = unconfirmed{detail, std::nullopt, std::nullopt};
    return {action_kind::probe, attempts_ + 1, {}, detail, last_status_};
}

action replay_fsm::on_probe(bool backend_up) {
    if (!unconfirmed_) {
        return send();  // nothing was waiting for a verdict
    }
    auto failure = std::move(*unconfirmed_);
    unconfirmed_.reset();
    if (!backend_up) {
        // The attempt met an outage: it does not count. A Retry-After still holds the next one.
        const auto delay = std::min(failure.retry_after.value_or(milliseconds{0}), policy_.max());
        return {action_kind::wait_backend, attempts_, delay, std::move(failure.why), last_status_};
    }
    ++attempts_;
    if (failure.status) {
        last_status_ = failure.status;
    }
    return retry_or_give_up(std::move(failure.why), failure.retry_after);
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
        delay = std::clamp(*retry_after, delay, std::max(delay, policy_.max()));
    }
    return {action_kind::wait_backoff, attempts_, delay, std::move(why), last_status_};
}

}  // namespace spillway::replay
