#pragma once
// The bound on request bodies held in memory at once, over all of a listener's connections
// (limits.max_buffered_bytes): each request leases what its body needs before the bytes are read
// (a declared Content-Length at once, a chunked body as it grows) and gives it back when the
// request is done. A request the budget cannot hold is answered 503 "overloaded" instead of
// being read: without it, 500 clients each declaring a 10 MiB body would take 5 GB.

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace spillway::http_util {

class body_budget {
public:
    explicit body_budget(std::uint64_t limit) : limit_(limit) {}

    // Takes `bytes` if they fit under the limit.
    bool try_take(std::uint64_t bytes) {
        const auto limit = limit_.load(std::memory_order_relaxed);
        auto used = used_.load(std::memory_order_relaxed);
        do {
            if (bytes > limit || used > limit - bytes) {
                return false;
            }
        } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
        return true;
    }
    void give_back(std::uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
    std::uint64_t in_use() const { return used_.load(std::memory_order_relaxed); }
    std::uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }
    // A reload: bodies already held stay held; below them, new requests wait for room.
    void set_limit(std::uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> limit_;
    std::atomic<std::uint64_t> used_{0};
};

// One request's share of the budget, given back when it goes out of scope. It grows in steps of
// at least 64 KiB, so a chunked body costs one atomic operation per step, not per read.
class body_lease {
public:
    explicit body_lease(body_budget* budget) : budget_(budget) {}
    ~body_lease() {
        if (budget_ != nullptr) {
            budget_->give_back(held_);
        }
    }
    body_lease(const body_lease&) = delete;
    body_lease& operator=(const body_lease&) = delete;

    // Makes sure `bytes` are held; false when the budget cannot hold them. Without a budget,
    // always true.
    bool hold(std::uint64_t bytes) {
        if (budget_ == nullptr || bytes <= held_) {
            return true;
        }
        constexpr std::uint64_t step = 64 * 1024;
        const auto needed = bytes - held_;
        const auto rounded = std::max(needed, step);
        if (budget_->try_take(rounded)) {
            held_ += rounded;
            return true;
        }
        if (rounded != needed && budget_->try_take(needed)) {
            held_ += needed;
            return true;
        }
        return false;
    }

private:
    body_budget* budget_;
    std::uint64_t held_ = 0;
};

}  // namespace spillway::http_util
