// Logging never blocks a worker (DESIGN.md, "Hostile input never crashes, stalls or exhausts the
// proxy"): with stdout a pipe nobody reads, the access log's pipe and queue fill within the first
// thousand requests; every request is still answered, the lines that did not fit are counted in
// spillway_log_dropped_total, and SIGTERM still ends the proxy with exit 0 within its bound.

#include "support/fake_backend.hpp"
#include "support/load_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

namespace spillway::test {
namespace {

// A pipe whose read end is held open and never read.
struct unread_pipe {
    unread_pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        read_end = fds[0];
        write_end = fds[1];
    }
    ~unread_pipe() {
        ::close(read_end);
        close_write_end();
    }
    void close_write_end() {
        if (write_end >= 0) {
            ::close(write_end);
            write_end = -1;
        }
    }
    int read_end = -1;
    int write_end = -1;
};

TEST(LogBackpressure, StdoutNobodyReadsStopsNothing) {
    fake_backend backend;
    unread_pipe out;
    spillway_proxy proxy(proxy_options{
        .backend_url = backend.url(),
        .settings = {{"log", {{"level", "warn"}, {"access_log", true}}},
                     {"shutdown_timeout_ms", 3000}},
        .stdout_fd = out.write_end,
    });
    out.close_write_end();  // the child holds the only write end

    // About 1.2 KiB per access-log line: 3,000 requests log some 3.6 MB, where the pipe takes
    // 64 KiB and the queue 1 MiB.
    const std::size_t requests = 3000;
    auto result = run_load({.port = proxy.port(),
                            .connections = 8,
                            .requests = requests,
                            .method = "GET",
                            .target = "/logged/" + std::string(1024, 'p'),
                            .body = "",
                            .timeout = 120s});
    EXPECT_EQ(result.errors, 0u);
    ASSERT_EQ(result.answers.size(), requests);
    for (const auto& a : result.answers) {
        ASSERT_EQ(a.status, 200u) << a.body;
    }
    const auto dropped = proxy.metric("spillway_log_dropped_total");
    ASSERT_TRUE(dropped.has_value());
    EXPECT_GT(*dropped, 0);

    // Shutdown: in-flight requests (none), Kafka (no broker: 500 ms), then the log writer gets
    // 1 s to write to a pipe that takes nothing, and gives up.
    const auto stopping = std::chrono::steady_clock::now();
    const auto status = proxy.terminate(15s);
    ASSERT_TRUE(status.has_value()) << "SIGTERM did not end the proxy";
    EXPECT_EQ(*status, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, 3000ms + 5s);
}

}  // namespace
}  // namespace spillway::test
