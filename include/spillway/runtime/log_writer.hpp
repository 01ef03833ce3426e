#pragma once
// Where log lines go after spdlog formatted them: a bounded queue per output (stdout for the
// access log, stderr for the other logs) and one thread of its own that writes them. A worker
// only appends its line to a buffer under a short lock, so it never waits for the output. When
// an output cannot keep up (a pipe nobody reads, a slow disk, a stopped terminal) and its queue
// is full, new lines are dropped and counted (spillway_log_dropped_total), and requests go on.
//
// The writer waits for an output with poll(2) and writes a pipe, socket or terminal at most
// PIPE_BUF bytes at a time (a write that size to a writable pipe does not block), so it never
// hangs in write() on a full pipe, and stop() ends it within its bound.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace spillway::runtime {

class log_writer {
public:
    // `fds`: the outputs, by index (written, never closed); `max_queued_bytes`: each output's
    // queue. Starts the writer thread with every signal blocked: it must never be the thread a
    // process-directed SIGTERM is delivered to, and a SIGPIPE becomes EPIPE.
    log_writer(std::vector<int> fds, std::size_t max_queued_bytes);
    ~log_writer();  // stop(default_drain_bound)

    log_writer(const log_writer&) = delete;
    log_writer& operator=(const log_writer&) = delete;

    static constexpr std::chrono::milliseconds default_drain_bound{1000};

    // Queues one line (with its newline) for output `output`. Never blocks on the output; false
    // when the line was dropped (the queue is full, the output is gone, or the writer stopped).
    bool push(std::size_t output, std::string_view line) noexcept;

    // Writes what it can of the queues within `bound`, then ends the thread; later lines are
    // dropped. Returns within about `bound` whatever the outputs do: a thread stuck in a write
    // (a file on a hung disk) is left behind, not waited for. Idempotent.
    void stop(std::chrono::milliseconds bound = default_drain_bound);

    // Lines dropped so far, over every output.
    std::uint64_t dropped() const noexcept;

    struct state;

private:
    std::shared_ptr<state> state_;  // shared with the thread, which may outlive this object
};

}  // namespace spillway::runtime
