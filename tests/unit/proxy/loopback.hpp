#pragma once
// In-process plumbing for the forwarder and session tests: everything runs on one io_context on
// the test thread (bounded by run_for), over real loopback sockets on port 0. A tiny scripted
// backend answers each request it reads with the next scripted answer.

#include "spillway/net/timed_socket.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <utility>

namespace spillway::proxy::test {

namespace net = boost::asio;
namespace http = boost::beast::http;
using netx::task;

// One scripted answer: raw bytes to write, then maybe close; or close without answering.
struct answer {
    std::string bytes;
    bool close_after = false;
};

inline answer ok_answer(std::string body = "hello") {
    return {"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
            body};
}
inline answer close_without_answer() {
    return {"", true};
}

class scripted_backend {
public:
    explicit scripted_backend(net::io_context& ioc) : acceptor_(ioc.get_executor()) {
        const net::ip::tcp::endpoint any(net::ip::make_address("127.0.0.1"), 0);
        acceptor_.open(any.protocol());
        acceptor_.bind(any);
        acceptor_.listen();
        net::co_spawn(ioc, accept_loop(), net::detached);
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    void script(answer a) { answers_.push_back(std::move(a)); }
    std::size_t connections() const { return connections_; }
    std::size_t requests() const { return requests_; }
    void close() {
        boost::system::error_code ec;
        acceptor_.close(ec);
    }

private:
    task<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(netx::use_task);
            if (ec) {
                co_return;
            }
            ++connections_;
            net::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), net::detached);
        }
    }

    task<void> serve(netx::tcp_socket socket) {
        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> req;
            auto [ec, n] = co_await http::async_read(socket, buffer, req, netx::use_task);
            if (ec) {
                co_return;
            }
            ++requests_;
            answer a = answers_.empty() ? ok_answer() : std::move(answers_.front());
            if (!answers_.empty()) {
                answers_.pop_front();
            }
            if (!a.bytes.empty()) {
                co_await net::async_write(socket, net::buffer(a.bytes), netx::use_task);
            }
            if (a.close_after) {
                socket.close(ec);
                co_return;
            }
        }
    }

    netx::tcp_acceptor acceptor_;
    std::deque<answer> answers_;
    std::size_t connections_ = 0;
    std::size_t requests_ = 0;
};

// A connected pair of loopback sockets: `accepted` is the server side.
struct socket_pair {
    netx::tcp_socket client;
    netx::tcp_socket accepted;
};

inline socket_pair connect_pair(net::io_context& ioc) {
    netx::tcp_acceptor acceptor(ioc.get_executor());
    const net::ip::tcp::endpoint any(net::ip::make_address("127.0.0.1"), 0);
    acceptor.open(any.protocol());
    acceptor.bind(any);
    acceptor.listen();
    netx::tcp_socket client(ioc.get_executor());
    client.connect(acceptor.local_endpoint());
    return {std::move(client), acceptor.accept()};
}

// Reads what the peer writes until it closes or `bytes` arrived (0: until it closes).
inline task<std::string> read_until_close(netx::tcp_socket& s, std::size_t bytes = 0) {
    std::string out;
    char buf[4096];
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(net::buffer(buf), netx::use_task);
        out.append(buf, n);
        if (ec || (bytes > 0 && out.size() >= bytes)) {
            co_return out;
        }
    }
}

// Runs `t` on `ioc` until it completes (or 5 s pass: the test then fails).
template <class T>
T run(net::io_context& ioc, task<T> t) {
    std::optional<T> result;
    net::co_spawn(ioc, std::move(t), [&](std::exception_ptr e, T value) {
        if (e) {
            std::rethrow_exception(e);
        }
        result = std::move(value);
        ioc.stop();
    });
    ioc.restart();
    ioc.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(result.has_value()) << "the test's coroutine did not finish in time";
    return result ? std::move(*result) : T{};
}

}  // namespace spillway::proxy::test
