#include "support/fake_backend_ledger.hpp"

namespace spillway::test {

void fake_backend_ledger::on(std::string path, route r) {
    std::lock_guard lock(mutex_);
    routes_[std::move(path)] = std::move(r);
}

void fake_backend_ledger::set_default(route r) {
    std::lock_guard lock(mutex_);
    default_route_ = std::move(r);
}

void fake_backend_ledger::script(std::vector<unsigned> statuses) {
    std::lock_guard lock(mutex_);
    script_.assign(statuses.begin(), statuses.end());
}

void fake_backend_ledger::dedupe_idempotency_keys(bool on) {
    std::lock_guard lock(mutex_);
    dedupe_ = on;
}

void fake_backend_ledger::set_probe_path(std::string path) {
    std::lock_guard lock(mutex_);
    probe_path_ = std::move(path);
}

std::size_t fake_backend_ledger::probe_count() const {
    std::lock_guard lock(mutex_);
    return probes_;
}

void fake_backend_ledger::hold_after(std::size_t n) {
    std::lock_guard lock(mutex_);
    hold_at_ = answered_ + n;
}

void fake_backend_ledger::release() {
    std::lock_guard lock(mutex_);
    hold_at_ = SIZE_MAX;
}

route fake_backend_ledger::route_for(std::string_view target) const {
    const auto path = target.substr(0, target.find('?'));
    const auto it = routes_.find(path);
    return it == routes_.end() ? default_route_ : it->second;
}

fake_backend_ledger::answer fake_backend_ledger::take(recorded_request request) {
    std::lock_guard lock(mutex_);
    answer out{route_for(request.target)};
    request.received_at = std::chrono::steady_clock::now();
    if (!probe_path_.empty() && request.target.substr(0, request.target.find('?')) == probe_path_) {
        ++probes_;
        changed_.notify_all();
        return out;
    }
    const auto key = request.header("Idempotency-Key");
    if (in_progress_ >= overload_above_ && !out.how.close_without_answer) {
        // Shed at the door, the way a server's concurrency limit does it: answered at once and
        // never in progress, so a refusal holds none of the capacity the admitted requests hold.
        out.how.status = 503;
        out.how.delay = {};
        ++overloaded_;
    } else {
        ++in_progress_;
        out.in_progress = true;
        if (!out.how.close_without_answer) {
            // A key that already took effect is answered as done, and takes no effect again.
            const bool done_before = dedupe_ && key && effects_.contains(*key);
            if (done_before) {
                out.how.status = 200;
                ++duplicates_;
            } else if (!script_.empty()) {
                out.how.status = script_.front();
                script_.pop_front();
            }
            if (!done_before && key && out.how.status / 100 == 2) {
                ++effects_[*key];
            }
        }
    }
    if (!out.how.close_without_answer) {
        request.status = out.how.status;
    }
    out.hold = answered_ >= hold_at_;
    if (!out.hold) {
        ++answered_;
    }
    received_.push_back(std::move(request));
    changed_.notify_all();
    return out;
}

void fake_backend_ledger::answered() {
    std::lock_guard lock(mutex_);
    if (in_progress_ > 0) {
        --in_progress_;
    }
}

void fake_backend_ledger::overloaded_above(std::size_t n) {
    std::lock_guard lock(mutex_);
    overload_above_ = n;
}

std::size_t fake_backend_ledger::overloaded_answers() const {
    std::lock_guard lock(mutex_);
    return overloaded_;
}

bool fake_backend_ledger::wait_for_overloaded_answers(std::size_t n,
                                                      std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return overloaded_ >= n; });
}

std::vector<recorded_request> fake_backend_ledger::requests() const {
    std::lock_guard lock(mutex_);
    return received_;
}

std::size_t fake_backend_ledger::request_count() const {
    std::lock_guard lock(mutex_);
    return received_.size();
}

std::map<std::string, unsigned> fake_backend_ledger::effects() const {
    std::lock_guard lock(mutex_);
    return effects_;
}

std::size_t fake_backend_ledger::duplicates() const {
    std::lock_guard lock(mutex_);
    return duplicates_;
}

bool fake_backend_ledger::wait_for_requests(std::size_t n,
                                            std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
}

bool fake_backend_ledger::wait_for_effects(std::size_t distinct_keys,
                                           std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return effects_.size() >= distinct_keys; });
}

}  // namespace spillway::test
