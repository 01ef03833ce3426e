// The connection pool over real loopback sockets: new and reused connections, the checks before
// reuse (closed by the backend, idle too long), the idle limit, and connect failures.

#include "spillway/upstream/pool.hpp"

#include "spillway/core/errors.hpp"

#include "unit/upstream/loopback_backend.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::upstream {
namespace {

using test::loopback_backend;
using test::run_task;
using test::run_until;
using namespace std::chrono_literals;

std::size_t open_fds() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
        ++n;
    }
    return n;
}

class PoolTest : public ::testing::Test {
protected:
    PoolTest() { net::co_spawn(ioc_, sweeper_.run(), net::detached); }
    ~PoolTest() override { sweeper_.stop(); }

    connection_pool& pool_to(std::string host, std::uint16_t port, std::size_t max_idle = 8) {
        address_ = {std::move(host), port};
        pool_.emplace(sweeper_, cfg_, address_, gauges_, max_idle);
        return *pool_;
    }

    acquire_result acquire() {
        auto r = run_task(ioc_, pool_->acquire());
        EXPECT_TRUE(r.has_value()) << "acquire did not finish";
        return r ? std::move(*r) : acquire_result{};
    }

    net::io_context ioc_;
    netx::deadline_sweeper sweeper_{ioc_.get_executor(), 5ms};
    config::backend_config cfg_;
    config::host_port address_;
    pool_gauges gauges_;
    std::optional<connection_pool> pool_;
};

TEST_F(PoolTest, OpensANewConnectionWhenNoneIsIdle) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    pool_to("127.0.0.1", backend.port());

    auto acquired = acquire();

    ASSERT_FALSE(acquired.error) << acquired.error.message();
    ASSERT_NE(acquired.connection, nullptr);
    EXPECT_EQ(acquired.connection->requests, 0u);
    EXPECT_TRUE(run_until(ioc_, [&] { return backend.accepted() == 1; }));
    EXPECT_EQ(gauges_.connects.load(), 1u);
    EXPECT_EQ(gauges_.open.load(), 1u);
    acquired.connection.reset();
    EXPECT_EQ(gauges_.open.load(), 0u);
}

TEST_F(PoolTest, ReusesAnIdleConnection) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    pool_to("127.0.0.1", backend.port());
    auto first = acquire();
    ASSERT_NE(first.connection, nullptr);
    first.connection->requests = 1;

    pool_->release(std::move(first.connection));
    EXPECT_EQ(gauges_.idle.load(), 1u);
    auto second = acquire();

    ASSERT_NE(second.connection, nullptr);
    EXPECT_EQ(second.connection->requests, 1u);  // the same connection, not a new one
    EXPECT_EQ(gauges_.connects.load(), 1u);
    EXPECT_EQ(gauges_.idle.load(), 0u);
    EXPECT_TRUE(run_until(ioc_, [&] { return backend.accepted() == 1; }));
}

TEST_F(PoolTest, ConnectionClosedByTheBackendWhileIdleIsNotHandedOut) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    pool_to("127.0.0.1", backend.port());
    auto first = acquire();
    ASSERT_NE(first.connection, nullptr);
    ASSERT_TRUE(run_until(ioc_, [&] { return backend.accepted() == 1; }));
    const int fd = first.connection->stream.socket().native_handle();
    first.connection->requests = 1;
    pool_->release(std::move(first.connection));

    backend.close_connections();
    ASSERT_TRUE(test::wait_readable(fd));  // the FIN has arrived
    auto second = acquire();

    ASSERT_NE(second.connection, nullptr);
    EXPECT_EQ(second.connection->requests, 0u);  // a new connection
    EXPECT_EQ(gauges_.connects.load(), 2u);
    EXPECT_EQ(gauges_.open.load(), 1u);  // the stale one was closed
    EXPECT_TRUE(run_until(ioc_, [&] { return backend.accepted() == 2; }));
}

TEST_F(PoolTest, ConnectionIdleForTheIdleTimeoutIsNotReused) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    cfg_.pool_idle_timeout = 0ms;  // every idle connection is too old at once
    pool_to("127.0.0.1", backend.port());
    auto first = acquire();
    ASSERT_NE(first.connection, nullptr);
    first.connection->requests = 1;
    pool_->release(std::move(first.connection));

    auto second = acquire();

    ASSERT_NE(second.connection, nullptr);
    EXPECT_EQ(second.connection->requests, 0u);
    EXPECT_EQ(gauges_.connects.load(), 2u);
    EXPECT_EQ(gauges_.open.load(), 1u);
}

TEST_F(PoolTest, KeepsAtMostMaxIdleConnections) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    pool_to("127.0.0.1", backend.port(), 1);
    auto a = acquire();
    auto b = acquire();
    ASSERT_NE(a.connection, nullptr);
    ASSERT_NE(b.connection, nullptr);
    EXPECT_EQ(gauges_.open.load(), 2u);

    pool_->release(std::move(a.connection));
    pool_->release(std::move(b.connection));

    EXPECT_EQ(gauges_.idle.load(), 1u);
    EXPECT_EQ(gauges_.open.load(), 1u);  // the second was closed, not kept
}

TEST_F(PoolTest, ConnectionWithUnreadBytesIsNotTakenBack) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    pool_to("127.0.0.1", backend.port());
    auto acquired = acquire();
    ASSERT_NE(acquired.connection, nullptr);
    auto& buffer = acquired.connection->buffer;
    buffer.commit(net::buffer_copy(buffer.prepare(4), net::buffer("JUNK", 4)));

    pool_->release(std::move(acquired.connection));

    EXPECT_EQ(gauges_.idle.load(), 0u);
    EXPECT_EQ(gauges_.open.load(), 0u);
}

TEST_F(PoolTest, RefusedConnectGivesTheErrorAndLeaksNoDescriptor) {
    test::refusing_port refusing;
    pool_to("127.0.0.1", refusing.port());
    const std::size_t fds_before = open_fds();

    auto acquired = acquire();

    EXPECT_EQ(acquired.error, net::error::connection_refused) << acquired.error.message();
    EXPECT_EQ(acquired.connection, nullptr);
    EXPECT_EQ(gauges_.connect_errors.load(), 1u);
    EXPECT_EQ(gauges_.open.load(), 0u);
    EXPECT_EQ(open_fds(), fds_before);
}

// A listener with a backlog of 0 and one connection waiting to be accepted has a full accept
// queue: the kernel drops further SYNs (Linux and gVisor alike), so a connect neither succeeds nor
// is refused. The listener's TCP_INFO says when the queue holds that connection.
TEST_F(PoolTest, ConnectThatGetsNoAnswerTimesOut) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 0), 0);
    socklen_t length = sizeof addr;
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length), 0);
    const int filler = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(filler, 0);
    ::connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    const auto queued = [&] {
        tcp_info info{};
        socklen_t size = sizeof info;
        return ::getsockopt(listener, IPPROTO_TCP, TCP_INFO, &info, &size) == 0 &&
               info.tcpi_unacked >= 1;  // for a listener: connections waiting to be accepted
    };
    for (int i = 0; i < 2000 && !queued(); ++i) {
        ::usleep(1000);
    }
    ASSERT_TRUE(queued());
    cfg_.connect_timeout = 100ms;
    pool_to("127.0.0.1", ntohs(addr.sin_port));
    const auto started = std::chrono::steady_clock::now();

    auto acquired = acquire();

    EXPECT_EQ(acquired.error, core::errc::connect_timeout) << acquired.error.message();
    EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
    EXPECT_EQ(gauges_.connect_errors.load(), 1u);
    EXPECT_EQ(gauges_.open.load(), 0u);
    ::close(filler);
    ::close(listener);
}

TEST_F(PoolTest, ResolvesANameAndConnects) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::ok(); });
    pool_to("localhost", backend.port());

    auto acquired = acquire();

    ASSERT_FALSE(acquired.error) << acquired.error.message();
    ASSERT_NE(acquired.connection, nullptr);
    EXPECT_TRUE(run_until(ioc_, [&] { return backend.accepted() == 1; }));
}

TEST_F(PoolTest, UnknownNameIsAConnectError) {
    pool_to("no-such-host.invalid", 80);

    auto acquired = acquire();

    EXPECT_TRUE(acquired.error);
    EXPECT_EQ(acquired.connection, nullptr);
    EXPECT_EQ(gauges_.connect_errors.load(), 1u);
}

TEST_F(PoolTest, CloseAbortsAConnectionInUseAndRefusesLaterAcquires) {
    loopback_backend backend(ioc_, [](auto, auto) { return test::reply{}; });
    pool_to("127.0.0.1", backend.port());
    auto acquired = acquire();
    ASSERT_NE(acquired.connection, nullptr);
    auto& stream = acquired.connection->stream;
    std::optional<boost::system::error_code> read_error;
    char byte;
    stream.socket().async_read_some(
        net::buffer(&byte, 1), [&](boost::system::error_code ec, std::size_t) { read_error = ec; });

    pool_->close();

    ASSERT_TRUE(run_until(ioc_, [&] { return read_error.has_value(); }));
    EXPECT_EQ(*read_error, net::error::operation_aborted);
    pool_->release(std::move(acquired.connection));
    EXPECT_EQ(gauges_.idle.load(), 0u);
    EXPECT_EQ(acquire().error, net::error::operation_aborted);
}

}  // namespace
}  // namespace spillway::upstream
