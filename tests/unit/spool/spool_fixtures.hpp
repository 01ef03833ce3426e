#pragma once
// Helpers for the spool and drainer tests: a temporary spool directory, records that are easy to
// recognise, a scriptable in-memory producer, and a bounded wait for a condition.

#include "spillway/kafka/producer.hpp"
#include "spillway/spool/spool.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

namespace spillway::spool::testing {

class temp_dir {
public:
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "spillway-spool-XXXXXX").string();
        if (::mkdtemp(pattern.data()) != nullptr) {
            path_ = pattern;
        }
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return path_; }

    config::spool_config config(std::uint64_t max_bytes = 1ull << 30) const {
        return config::spool_config{path_, max_bytes};
    }

private:
    std::string path_;
};

// Record i: key "key-<i>", a value of `value_size` bytes that starts with "value-<i>|" and holds
// binary bytes (NUL included), and two headers.
inline kafka::record make_record(int i, std::size_t value_size = 64) {
    kafka::record r;
    r.topic = "failed-requests";
    r.key = "key-" + std::to_string(i);
    r.value = "value-" + std::to_string(i) + "|";
    while (r.value.size() < value_size) {
        r.value += static_cast<char>(r.value.size() % 256);
    }
    r.headers = {{"spillway-id", r.key}, {"spillway-failure", std::string("conn\0ect", 8)}};
    return r;
}

// Polls `condition` until it holds or `timeout` passes: waiting for an effect that has no
// notification of its own (a deletion committed on the spool's writer thread).
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// Completes into a shared std::promise, so a test can wait for appends with a bound (and a
// late completion after a timed-out wait touches nothing freed).
using shared_promise = std::shared_ptr<std::promise<boost::system::error_code>>;

class promise_callback final : public append_callback {
public:
    explicit promise_callback(shared_promise p) : promise_(std::move(p)) {}
    void on_appended(boost::system::error_code ec) noexcept override { promise_->set_value(ec); }

private:
    shared_promise promise_;
};

// Appends records first..last-1 in one burst (one group commit, not one fsync each) and waits,
// bounded, for all of them. Returns the first error.
inline boost::system::error_code append_all_and_wait(spool& s, int first, int last,
                                                     std::size_t value_size = 64) {
    std::vector<std::future<boost::system::error_code>> results;
    for (int i = first; i < last; ++i) {
        auto p = std::make_shared<std::promise<boost::system::error_code>>();
        results.push_back(p->get_future());
        s.append(make_record(i, value_size), std::make_unique<promise_callback>(p));
    }
    for (auto& f : results) {
        if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
            return make_error_code(boost::system::errc::timed_out);
        }
        if (auto ec = f.get()) {
            return ec;
        }
    }
    return {};
}

// Appends one record and waits (bounded) for its completion.
inline boost::system::error_code append_and_wait(spool& s, kafka::record r) {
    auto p = std::make_shared<std::promise<boost::system::error_code>>();
    auto result = p->get_future();
    s.append(std::move(r), std::make_unique<promise_callback>(p));
    if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        return make_error_code(boost::system::errc::timed_out);
    }
    return result.get();
}

// A producer the test drives: it keeps every accepted record with its callback until the test
// delivers (or fails) it, and can refuse produce() calls.
class fake_producer final : public kafka::producer {
public:
    boost::system::error_code produce(
        const kafka::record& r, std::unique_ptr<kafka::delivery_callback> cb) noexcept override {
        std::lock_guard lock(mutex_);
        if (refuse_ > 0) {
            --refuse_;
            ++refused_;
            return refuse_error_;
        }
        produced_keys_.push_back(r.key);
        pending_.push_back({std::move(r), std::move(cb)});
        max_pending_ = std::max(max_pending_, pending_.size());
        changed_.notify_all();
        return {};
    }

    void close(std::chrono::milliseconds) noexcept override { finish(pending(), false); }
    bool connected() const noexcept override { return true; }

    // Reports the `n` oldest pending records, as delivered or as failed (timed out).
    void finish(std::size_t n, bool ok) {
        finish_with(n, ok ? kafka::errc::no_error : kafka::errc::msg_timed_out);
    }

    // Reports the `n` oldest pending records with this librdkafka error (no_error: delivered).
    void finish_with(std::size_t n, kafka::errc error) {
        std::vector<std::unique_ptr<kafka::delivery_callback>> callbacks;
        {
            std::lock_guard lock(mutex_);
            for (std::size_t i = 0; i < n && !pending_.empty(); ++i) {
                callbacks.push_back(std::move(pending_.front().second));
                pending_.pop_front();
            }
        }
        kafka::delivery_report report;
        report.error = error;
        for (auto& cb : callbacks) {
            cb->on_delivery(report);
        }
    }

    // Waits (bounded) until at least `n` records are pending.
    bool wait_pending(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return pending_.size() >= n; });
    }

    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return pending_.size();
    }
    std::size_t max_pending() const {
        std::lock_guard lock(mutex_);
        return max_pending_;
    }
    std::vector<std::string> produced_keys() const {
        std::lock_guard lock(mutex_);
        return produced_keys_;
    }
    std::vector<kafka::record> pending_records() const {
        std::lock_guard lock(mutex_);
        std::vector<kafka::record> out;
        for (const auto& p : pending_) {
            out.push_back(p.first);
        }
        return out;
    }
    // The next `n` produce() calls fail with `error` (default: the local queue is full).
    void refuse_next(int n, kafka::errc error = kafka::errc::queue_full) {
        std::lock_guard lock(mutex_);
        refuse_ = n;
        refuse_error_ = error;
    }
    int refused() const {
        std::lock_guard lock(mutex_);
        return refused_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::pair<kafka::record, std::unique_ptr<kafka::delivery_callback>>> pending_;
    std::vector<std::string> produced_keys_;
    std::size_t max_pending_ = 0;
    int refuse_ = 0;
    kafka::errc refuse_error_ = kafka::errc::queue_full;
    int refused_ = 0;
};

}  // namespace spillway::spool::testing
