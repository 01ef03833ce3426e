#include "spillway/runtime/log_writer.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace spillway::runtime {

namespace {

using clock = std::chrono::steady_clock;

// How long the writer waits on an output that takes nothing before it looks at the queues
// again (and at the other outputs' lines, which wait meanwhile).
constexpr std::chrono::milliseconds blocked_poll{50};

struct output {
    int fd = -1;
    std::size_t chunk = PIPE_BUF;  // bytes per write(): PIPE_BUF unless a regular file
    std::string queued;  // pushed by the workers (under the lock)
    std::string writing;  // taken by the writer (its own, no lock)
    std::size_t written = 0;  // of `writing`
    bool gone = false;  // the output failed for good (EPIPE, EBADF, ...): lines are dropped
};

std::size_t chunk_for(int fd) {
    struct stat st {};
    // A regular file never makes write() wait for a reader: it takes the whole batch at once.
    return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? std::size_t{1} << 30 : PIPE_BUF;
}

std::uint64_t lines_in(std::string_view bytes) {
    return static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n'));
}

}  // namespace

struct log_writer::state {
    std::mutex mutex;
    std::condition_variable wake;  // lines queued, or stop
    std::condition_variable finished;  // the thread ended
    std::vector<output> outputs;
    std::size_t max_queued_bytes = 0;
    bool waiting = false;  // the writer sleeps on `wake` (a push must notify)
    bool stopping = false;
    bool exited = false;
    clock::time_point deadline;  // when stopping: give up writing after it
    std::atomic<std::uint64_t> dropped{0};

    // Moves each output's queued lines to its writing buffer once the previous batch is out.
    // Returns whether anything is left to write. Under the lock.
    bool take_batches() {
        bool pending = false;
        for (auto& o : outputs) {
            if (o.written == o.writing.size()) {
                o.writing.clear();
                o.written = 0;
                std::swap(o.writing, o.queued);
            }
            pending = pending || o.written < o.writing.size();
        }
        return pending;
    }

    // Writes what the outputs take now, waiting at most `wait` for one to take something.
    void write_some(std::chrono::milliseconds wait) {
        std::vector<pollfd> fds;
        std::vector<output*> which;
        for (auto& o : outputs) {
            if (o.written < o.writing.size()) {
                fds.push_back({o.fd, POLLOUT, 0});
                which.push_back(&o);
            }
        }
        const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
        if (ready <= 0) {
            return;  // nothing writable (or EINTR): the caller looks again
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents != 0) {
                write_once(*which[i]);
            }
        }
    }

    void write_once(output& o) {
        const std::size_t n = std::min(o.chunk, o.writing.size() - o.written);
        const ssize_t w = ::write(o.fd, o.writing.data() + o.written, n);
        if (w > 0) {
            o.written += static_cast<std::size_t>(w);
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            fail(o);
        }
    }

    // The output is gone (its reader closed the pipe, the descriptor is bad): what was taken for
    // it is dropped, and so is everything pushed to it from now on.
    void fail(output& o) {
        dropped.fetch_add(lines_in(std::string_view(o.writing).substr(o.written)),
                          std::memory_order_relaxed);
        o.written = o.writing.size();
        std::lock_guard lock(mutex);
        o.gone = true;
        dropped.fetch_add(lines_in(o.queued), std::memory_order_relaxed);
        o.queued.clear();
    }

    void run() {
        for (;;) {
            std::chrono::milliseconds wait = blocked_poll;
            {
                std::unique_lock lock(mutex);
                bool pending = take_batches();
                while (!pending && !stopping) {
                    waiting = true;
                    wake.wait(lock);
                    waiting = false;
                    pending = take_batches();
                }
                if (stopping) {
                    const auto left = deadline - clock::now();
                    if (!pending || left <= clock::duration::zero()) {
                        break;
                    }
                    wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(left));
                }
            }
            write_some(wait);
        }
        std::lock_guard lock(mutex);
        for (auto& o : outputs) {
            dropped.fetch_add(
                lines_in(std::string_view(o.writing).substr(o.written)) + lines_in(o.queued),
                std::memory_order_relaxed);
            o.gone = true;
        }
        exited = true;
        finished.notify_all();
    }
};

log_writer::log_writer(std::vector<int> fds, std::size_t max_queued_bytes)
    : state_(std::make_shared<state>()) {
    state_->max_queued_bytes = max_queued_bytes;
    for (int fd : fds) {
        state_->outputs.push_back(output{fd, chunk_for(fd)});
    }
    sigset_t all_signals;
    sigset_t previous;
    sigfillset(&all_signals);
    pthread_sigmask(SIG_BLOCK, &all_signals, &previous);
    std::thread([s = state_] {
        s->run();
    }).detach();  // stop() waits for it with a bound; it holds its own reference to the state
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

log_writer::~log_writer() {
    stop();
}

bool log_writer::push(std::size_t output, std::string_view line) noexcept {
    auto& s = *state_;
    bool notify = false;
    {
        std::lock_guard lock(s.mutex);
        auto& o = s.outputs.at(output);
        if (o.gone || s.stopping || o.queued.size() + line.size() > s.max_queued_bytes) {
            s.dropped.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        try {
            o.queued.append(line);
        } catch (...) {  // out of memory: the line is lost, the worker is not
            s.dropped.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        notify = s.waiting;
    }
    if (notify) {
        s.wake.notify_one();
    }
    return true;
}

void log_writer::stop(std::chrono::milliseconds bound) {
    auto& s = *state_;
    std::unique_lock lock(s.mutex);
    if (!s.stopping) {
        s.stopping = true;
        s.deadline = clock::now() + bound;
        s.wake.notify_one();
    }
    // The thread checks its deadline at least every blocked_poll; the slack covers a last write.
    s.finished.wait_until(lock, s.deadline + 2 * blocked_poll, [&] { return s.exited; });
}

std::uint64_t log_writer::dropped() const noexcept {
    return state_->dropped.load(std::memory_order_relaxed);
}

}  // namespace spillway::runtime
