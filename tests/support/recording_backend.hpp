#pragma once
// A scriptable HTTP/1.1 backend for replay tests, on 127.0.0.1 port 0, with its own thread.
// It records every request byte for byte (and parsed), answers from a script of statuses, can go
// down (connections refused, open ones reset) and come back on the same port, can hold its
// answers to freeze a client mid-batch, and can dedupe on Idempotency-Key the way an idempotent
// API does: a key that already took effect is answered 200 and takes no effect again.
// Waiting is on events (a condition variable), bounded by a timeout.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spillway::test {

struct received_request {
    std::string raw;  // the request as received, head and body, byte for byte
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
    std::string body;
    unsigned status = 0;  // what the backend answered (or will, when held)

    // The first header with this name (case-insensitive), or "" when there is none.
    std::string header(std::string_view name) const;
};

struct recording_backend_options {
    bool record = true;  // false: count and track keys only (the benchmark's fast mode)
    bool dedupe = false;
    unsigned default_status = 200;
};

class recording_backend {
public:
    explicit recording_backend(recording_backend_options options = {});
    ~recording_backend();
    recording_backend(const recording_backend&) = delete;
    recording_backend& operator=(const recording_backend&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url() const;  // http://127.0.0.1:PORT

    // The next answers, in order; afterwards the default status.
    void script(std::vector<unsigned> statuses);
    void set_default_status(unsigned status);

    // Stops listening and resets every open connection; returns once connects are refused.
    void go_down();
    // Listens again on the same port; returns once it accepts.
    void come_back();

    // After `n` more requests have been answered, later requests are recorded (and take effect)
    // but their answers are held until release().
    void hold_after(std::size_t n);
    void release();

    std::vector<received_request> requests() const;
    std::size_t request_count() const;
    // Idempotency-Key -> how many times a request with it took effect (answered 2xx).
    std::map<std::string, unsigned> effects() const;
    std::size_t duplicates() const;  // requests answered as already done (dedupe)

    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
    bool wait_for_effects(std::size_t distinct_keys, std::chrono::milliseconds timeout) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::uint16_t port_ = 0;
};

}  // namespace spillway::test
