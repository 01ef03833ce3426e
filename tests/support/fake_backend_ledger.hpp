#pragma once
// The bookkeeping of a fake_backend, without I/O: what it was told (routes, a script of statuses,
// whether to dedupe, when to hold answers) and what it saw (every request, the effects per
// Idempotency-Key). The backend's I/O thread asks it how to answer each request; the test's thread
// scripts it and reads it back. Everything is under one mutex; waits are on a condition variable.

#include "support/fake_backend.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>

namespace spillway::test {

class fake_backend_ledger {
public:
    // How to answer one request, decided when it arrived.
    struct answer {
        route how;  // how.status is the status to send
        bool hold = false;  // wait for release() before answering
        bool in_progress = false;  // counted as in progress: call answered() once it is done
    };

    void on(std::string path, route r);
    void set_default(route r);
    void script(std::vector<unsigned> statuses);
    void dedupe_idempotency_keys(bool on);
    void set_probe_path(std::string path);
    std::size_t probe_count() const;
    void hold_after(std::size_t n);
    void release();

    // Decides the answer to `request`, records the request with its status, wakes the waiters.
    answer take(recorded_request request);
    // The answer to a request take() decided is written (or its connection went away).
    void answered();
    // From now on, a request that arrives while `n` are in progress is answered 503 at once (and
    // takes no effect, and is never in progress): a backend that cannot take more than `n` at once.
    void overloaded_above(std::size_t n);
    std::size_t overloaded_answers() const;
    bool wait_for_overloaded_answers(std::size_t n, std::chrono::milliseconds timeout) const;

    std::vector<recorded_request> requests() const;
    std::size_t request_count() const;
    std::map<std::string, unsigned> effects() const;
    std::size_t duplicates() const;

    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
    bool wait_for_effects(std::size_t distinct_keys, std::chrono::milliseconds timeout) const;

private:
    route route_for(std::string_view target) const;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::map<std::string, route, std::less<>> routes_;
    route default_route_;
    std::deque<unsigned> script_;
    bool dedupe_ = false;
    std::size_t answered_ = 0;  // requests not held
    std::size_t hold_at_ = SIZE_MAX;  // answers past this count are held
    std::vector<recorded_request> received_;
    std::map<std::string, unsigned> effects_;  // Idempotency-Key -> 2xx answers
    std::size_t duplicates_ = 0;
    std::string probe_path_;  // empty: none
    std::size_t probes_ = 0;
    std::size_t in_progress_ = 0;  // taken, answer not yet being written (probes not counted)
    std::size_t overload_above_ = SIZE_MAX;
    std::size_t overloaded_ = 0;
};

}  // namespace spillway::test
