#pragma once
// In-process tests of the backend-client core (upstream/ and the replay's client): a scripted
// backend on 127.0.0.1:0 served by the test's own io_context, and helpers that run that
// io_context until an event, always bounded in time.

#include "spillway/net/timed_socket.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::test {

namespace net = boost::asio;
using namespace std::chrono_literals;

// Runs `ioc` until `done()` holds or `bound` has passed; returns done().
inline bool run_until(net::io_context& ioc, const std::function<bool()>& done,
                      std::chrono::milliseconds bound = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    ioc.restart();
    while (!done()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            return false;
        }
        ioc.run_one_for(deadline - now);
    }
    return true;
}

// Runs `t` to its end on `ioc` (bounded); nullopt when it did not finish in time.
template <class T>
std::optional<T> run_task(net::io_context& ioc, netx::task<T> t,
                          std::chrono::milliseconds bound = 5000ms) {
    auto result = std::make_shared<std::optional<T>>();
    net::co_spawn(ioc.get_executor(), std::move(t), [result](std::exception_ptr e, T value) {
        if (!e) {
            *result = std::move(value);
        }
    });
    run_until(
        ioc, [&] { return result->has_value(); }, bound);
    return std::move(*result);
}

// Waits (bounded) until the kernel has something to report on `fd`: bytes, EOF or an error.
inline bool wait_readable(int fd, std::chrono::milliseconds bound = 5000ms) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    return ::poll(&p, 1, static_cast<int>(bound.count())) == 1;
}

// A loopback port bound but not listening, for as long as this lives: a connect to it is
// refused, and nothing else can take the port meanwhile.
class refusing_port {
public:
    refusing_port() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof addr;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
            throw std::runtime_error("refusing_port: cannot bind a loopback port");
        }
        port_ = ntohs(addr.sin_port);
    }
    ~refusing_port() { ::close(fd_); }
    refusing_port(const refusing_port&) = delete;
    refusing_port& operator=(const refusing_port&) = delete;

    std::uint16_t port() const { return port_; }

private:
    int fd_;
    std::uint16_t port_ = 0;
};

// What the backend does with one request: writes `bytes` (nothing when empty), then closes the
// connection or waits for the next request.
struct reply {
    std::string bytes;
    bool then_close = false;
};

inline reply ok(std::string_view body = "ok") {
    return {"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
            std::string(body)};
}

inline reply close_without_answer() {
    return {{}, true};
}

// Reads request heads (requests without a body) and answers each as the script says.
class loopback_backend {
public:
    // The reply to request `request` (0-based) on connection `connection` (0-based, in accept
    // order).
    using script = std::function<reply(std::size_t connection, std::size_t request)>;

    loopback_backend(net::io_context& ioc, script s)
        : acceptor_(ioc.get_executor(), {net::ip::make_address("127.0.0.1"), 0}),
          script_(std::move(s)) {
        net::co_spawn(ioc.get_executor(), accept_loop(), net::detached);
    }
    ~loopback_backend() { stop(); }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::size_t accepted() const { return accepted_; }
    std::size_t requests() const { return requests_; }
    // Every request head received, in order.
    const std::vector<std::string>& heads() const { return heads_; }

    // Closes every accepted connection now (a backend dropping its idle keep-alive connections).
    void close_connections() {
        for (auto& s : sockets_) {
            boost::system::error_code ignored;
            s->close(ignored);
        }
    }

    void stop() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        close_connections();
    }

private:
    netx::task<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(netx::use_task);
            if (ec) {
                co_return;
            }
            auto s = std::make_shared<netx::tcp_socket>(std::move(socket));
            sockets_.push_back(s);
            net::co_spawn(acceptor_.get_executor(), serve(s, accepted_++), net::detached);
        }
    }

    netx::task<void> serve(std::shared_ptr<netx::tcp_socket> s, std::size_t connection) {
        std::string in;
        for (std::size_t request = 0;; ++request) {
            auto [ec, n] = co_await net::async_read_until(*s, net::dynamic_buffer(in), "\r\n\r\n",
                                                          netx::use_task);
            if (ec) {
                co_return;
            }
            heads_.push_back(in.substr(0, n));
            in.erase(0, n);
            ++requests_;
            const reply answer = script_(connection, request);
            auto [wec, written] =
                co_await net::async_write(*s, net::buffer(answer.bytes), netx::use_task);
            if (wec || answer.then_close) {
                boost::system::error_code ignored;
                s->close(ignored);
                co_return;
            }
        }
    }

    netx::tcp_acceptor acceptor_;
    script script_;
    std::list<std::shared_ptr<netx::tcp_socket>> sockets_;
    std::size_t accepted_ = 0;
    std::size_t requests_ = 0;
    std::vector<std::string> heads_;
};

}  // namespace spillway::test
