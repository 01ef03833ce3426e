// The check of an idle connection before reuse, over real loopback sockets.

#include "spillway/upstream/stale_check.hpp"

#include "unit/upstream/loopback_backend.hpp"

#include <gtest/gtest.h>

namespace spillway::upstream {
namespace {

namespace net = boost::asio;

using namespace std::chrono_literals;

// A connected pair: the client side as a timed_socket, the server side as a plain socket.
class StaleCheckTest : public ::testing::Test {
protected:
    StaleCheckTest() {
        netx::tcp_acceptor acceptor(ioc_.get_executor(), {net::ip::make_address("127.0.0.1"), 0});
        client_.socket().connect(acceptor.local_endpoint());
        acceptor.accept(server_);
    }

    int client_fd() { return client_.socket().native_handle(); }

    net::io_context ioc_;
    netx::deadline_sweeper sweeper_{ioc_.get_executor(), 100ms};
    upstream::backend_stream client_{sweeper_};
    netx::tcp_socket server_{ioc_.get_executor()};
    boost::beast::flat_buffer buffer_;
};

TEST_F(StaleCheckTest, IdleOpenConnectionIsNotStale) {
    EXPECT_FALSE(is_stale(client_, buffer_));
}

TEST_F(StaleCheckTest, ConnectionClosedByThePeerIsStale) {
    server_.close();
    ASSERT_TRUE(test::wait_readable(client_fd()));

    EXPECT_TRUE(is_stale(client_, buffer_));
}

TEST_F(StaleCheckTest, UnsolicitedBytesInTheSocketMakeItStale) {
    net::write(server_, net::buffer("HTTP/1.1 200 OK\r\n", 17));
    ASSERT_TRUE(test::wait_readable(client_fd()));

    EXPECT_TRUE(is_stale(client_, buffer_));
}

TEST_F(StaleCheckTest, UnreadBytesInTheBufferMakeItStale) {
    buffer_.commit(net::buffer_copy(buffer_.prepare(2), net::buffer("ok", 2)));

    EXPECT_TRUE(is_stale(client_, buffer_));
}

}  // namespace
}  // namespace spillway::upstream
