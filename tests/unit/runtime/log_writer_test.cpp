// The log writer (DESIGN.md: "Logging never blocks a worker"): lines reach a reader whole and in
// order; with a reader that stops reading, push() still returns at once and drops (and counts)
// what the queue cannot hold; stop() returns within its bound whatever the output does.

#include "spillway/runtime/log_writer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace spillway::runtime {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

struct pipe_pair {
    pipe_pair() {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        read_end = fds[0];
        write_end = fds[1];
    }
    ~pipe_pair() {
        ::close(read_end);
        ::close(write_end);
    }
    int read_end = -1;
    int write_end = -1;
};

// Reads until `bytes` bytes came or `timeout` passed.
std::string read_bytes(int fd, std::size_t bytes, std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = clock::now() + timeout;
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    char buf[8192];
    while (out.size() < bytes && clock::now() < deadline) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        } else {
            std::this_thread::sleep_for(1ms);
        }
    }
    return out;
}

TEST(LogWriter, LinesArriveWholeAndInOrder) {
    pipe_pair out;
    pipe_pair err;
    log_writer writer({out.write_end, err.write_end}, 1 << 20);
    std::string expected;
    for (int i = 0; i < 2000; ++i) {
        const std::string line = "line " + std::to_string(i) + "\n";
        ASSERT_TRUE(writer.push(0, line));
        expected += line;
    }
    ASSERT_TRUE(writer.push(1, "to stderr\n"));
    EXPECT_EQ(read_bytes(out.read_end, expected.size(), 10s), expected);
    EXPECT_EQ(read_bytes(err.read_end, 10, 10s), "to stderr\n");
    EXPECT_EQ(writer.dropped(), 0u);
}

// A reader that never reads: the pipe (64 KiB) and the queue fill, then lines are dropped; no
// push waits, and stop() ends within its bound.
TEST(LogWriter, StalledOutputDropsInsteadOfBlocking) {
    pipe_pair out;
    pipe_pair err;
    log_writer writer({out.write_end, err.write_end}, 64 * 1024);
    const std::string line(199, 'x');
    const auto started = clock::now();
    std::size_t accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        accepted += writer.push(0, line + "\n") ? 1 : 0;
    }
    EXPECT_LT(clock::now() - started, 2s) << "push waited for the output";
    EXPECT_GT(writer.dropped(), 0u);
    EXPECT_LT(accepted, 20000u);
    // The other output is not held up by the stalled one.
    ASSERT_TRUE(writer.push(1, "still here\n"));
    EXPECT_EQ(read_bytes(err.read_end, 11, 10s), "still here\n");

    const auto stopping = clock::now();
    writer.stop(200ms);
    EXPECT_LT(clock::now() - stopping, 1s);
    EXPECT_FALSE(writer.push(0, "after stop\n"));
    // Every line is accounted for: written to the pipe, or dropped (refused at push, or queued
    // and never written before the stop).
    const auto in_pipe = read_bytes(out.read_end, 20000 * 200, 500ms).size() / 200;
    EXPECT_EQ(in_pipe + writer.dropped(), 20000u + 1);  // + the line pushed after the stop
}

// The reader went away: EPIPE (the writer thread blocks SIGPIPE), lines dropped, no crash.
TEST(LogWriter, ClosedReaderDropsLines) {
    pipe_pair out;
    pipe_pair err;
    log_writer writer({out.write_end, err.write_end}, 1 << 20);
    ::close(out.read_end);
    out.read_end = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // closed again by the pair
    for (int i = 0; i < 100; ++i) {
        writer.push(0, "nobody reads this\n");
    }
    EXPECT_TRUE(writer.push(1, "x\n"));
    EXPECT_EQ(read_bytes(err.read_end, 2, 10s), "x\n");
    writer.stop(1s);
    EXPECT_GT(writer.dropped(), 0u);
}

}  // namespace
}  // namespace spillway::runtime
