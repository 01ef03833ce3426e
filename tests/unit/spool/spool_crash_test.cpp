// Recovery: a child process appends to the spool and reports each completed append through a
// pipe; it dies without closing the spool (SIGKILL in the middle of a stream of appends, or
// _exit). Reopening the spool must find every record whose append completed, in order.

#include "spillway/spool/spool.hpp"

#include "unit/spool/spool_fixtures.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <latch>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace spillway::spool {
namespace {

using namespace testing;

// Kills and reaps the child however the test ends.
struct child_process {
    pid_t pid = -1;
    ~child_process() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
};

class pipe_callback final : public append_callback {
public:
    pipe_callback(int fd, std::int32_t index, std::latch& done)
        : fd_(fd), index_(index), done_(done) {}
    void on_appended(boost::system::error_code ec) noexcept override {
        if (!ec) {
            // A 4-byte write to a pipe is atomic; the parent reads whole indices.
            [[maybe_unused]] auto n = ::write(fd_, &index_, sizeof index_);
        }
        done_.count_down();
    }

private:
    int fd_;
    std::int32_t index_;
    std::latch& done_;
};

// The child: appends bursts of 50 until `total`, then leaves by _exit without closing.
[[noreturn]] void run_child(const config::spool_config& cfg, int fd, int total) {
    try {
        auto* s = new spool(cfg);  // never destroyed: the process dies with it open
        for (int base = 0; base < total; base += 50) {
            std::latch done(50);
            for (int i = base; i < base + 50; ++i) {
                s->append(make_record(i, 512), std::make_unique<pipe_callback>(fd, i, done));
            }
            done.wait();
        }
        ::_exit(0);
    } catch (...) {
        ::_exit(3);
    }
}

// Reads completed indices until `want` arrived (or EOF / 20 s without progress).
std::vector<std::int32_t> read_acks(int fd, std::size_t want) {
    std::vector<std::int32_t> acks;
    std::int32_t index = 0;
    while (acks.size() < want) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20000) <= 0) {
            break;
        }
        const ssize_t n = ::read(fd, &index, sizeof index);
        if (n != sizeof index) {
            break;
        }
        acks.push_back(index);
    }
    return acks;
}

void expect_recovered(const temp_dir& dir, const std::vector<std::int32_t>& acks) {
    ASSERT_FALSE(acks.empty());
    spool reopened(dir.config());
    const auto stored = reopened.read_after(0, 1'000'000, 1ull << 40);
    // Appends commit in FIFO order, a transaction whole or not at all: the spool holds a prefix
    // 0..m-1 of the stream, and every acknowledged index lies inside it.
    ASSERT_GE(stored.size(), acks.size());
    for (std::size_t i = 0; i < stored.size(); ++i) {
        const auto want = make_record(static_cast<int>(i), 512);
        ASSERT_EQ(stored[i].record.key, want.key);
        ASSERT_EQ(stored[i].record.value, want.value);
        ASSERT_EQ(stored[i].record.headers, want.headers);
    }
    for (const std::int32_t index : acks) {
        EXPECT_LT(static_cast<std::size_t>(index), stored.size()) << "acknowledged, then lost";
    }
    EXPECT_EQ(reopened.records(), stored.size());
    std::uint64_t bytes = 0;
    for (std::size_t i = 0; i < stored.size(); ++i) {
        bytes += record_bytes(make_record(static_cast<int>(i), 512));
    }
    EXPECT_EQ(reopened.bytes(), bytes);
}

TEST(SpoolCrashTest, SigkillDuringAppendsLosesNothingThatCompleted) {
    temp_dir dir;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    child_process child;
    child.pid = ::fork();
    ASSERT_GE(child.pid, 0);
    if (child.pid == 0) {
        ::close(fds[0]);
        run_child(dir.config(), fds[1], 1'000'000);
    }
    ::close(fds[1]);
    auto acks = read_acks(fds[0], 600);
    ASSERT_EQ(acks.size(), 600u) << "the child did not append";
    // Killed while it is still appending: later bursts are queued or mid-transaction.
    ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
    child.pid = -1;
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    // Whatever completed before the kill is still in the pipe.
    const auto rest = read_acks(fds[0], SIZE_MAX);
    acks.insert(acks.end(), rest.begin(), rest.end());
    ::close(fds[0]);
    expect_recovered(dir, acks);
}

TEST(SpoolCrashTest, ExitWithoutCloseKeepsEveryRecord) {
    temp_dir dir;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    child_process child;
    child.pid = ::fork();
    ASSERT_GE(child.pid, 0);
    if (child.pid == 0) {
        ::close(fds[0]);
        run_child(dir.config(), fds[1], 500);
    }
    ::close(fds[1]);
    const auto acks = read_acks(fds[0], SIZE_MAX);
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
    child.pid = -1;
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(acks.size(), 500u);
    expect_recovered(dir, acks);
}

}  // namespace
}  // namespace spillway::spool
