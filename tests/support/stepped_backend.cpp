#include "support/stepped_backend.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <fcntl.h>

namespace spillway::test {

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

// The path of a request head's target, without its query.
std::string path_of(const std::string& head) {
    const auto start = head.find(' ');
    if (start == std::string::npos) {
        return {};
    }
    const auto end = head.find_first_of(" ?", start + 1);
    return head.substr(start + 1, end == std::string::npos ? end : end - start - 1);
}

}  // namespace

struct stepped_backend::impl {
    // Declared before the io_context: the sessions it destroys on stop may still count.
    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::size_t pieces_written = 0;
    std::size_t connections_ended = 0;

    stepped_script default_script;
    std::map<std::string, stepped_script> scripts;
    std::size_t allowed = 0;  // touched on the io thread only (after construction)

    net::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    // Never expires; cancelled to wake the answers waiting for allow().
    net::steady_timer gate{ioc, net::steady_timer::time_point::max()};
    std::thread thread;
    std::uint16_t port = 0;

    void count(std::size_t& counter) {
        {
            std::lock_guard lock(mutex);
            ++counter;
        }
        changed.notify_all();
    }

    template <class Predicate>
    bool wait(std::chrono::milliseconds timeout, Predicate done) const {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, done);
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
            if (ec) {
                co_return;
            }
            ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
            net::co_spawn(ioc, serve(std::move(socket)), net::detached);
        }
    }

    // Answers one request; false when the connection is to end.
    net::awaitable<bool> answer(tcp::socket& socket, const stepped_script& script) {
        for (std::size_t i = 0; i < script.pieces.size(); ++i) {
            while (allowed <= i) {
                co_await gate.async_wait(tuple_awaitable);
            }
            auto [ec, n] =
                co_await net::async_write(socket, net::buffer(script.pieces[i]), tuple_awaitable);
            if (ec) {
                co_return false;
            }
            count(pieces_written);
        }
        co_return !script.close_after;
    }

    net::awaitable<void> serve(tcp::socket socket) {
        std::string in;
        for (;;) {
            auto [ec, n] = co_await net::async_read_until(socket, net::dynamic_buffer(in),
                                                          "\r\n\r\n", tuple_awaitable);
            if (ec) {
                break;
            }
            const auto it = scripts.find(path_of(in.substr(0, n)));
            in.erase(0, n);
            const bool go_on =
                co_await answer(socket, it == scripts.end() ? default_script : it->second);
            if (!go_on) {
                break;
            }
        }
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        count(connections_ended);
    }
};

stepped_backend::stepped_backend(stepped_script default_script, std::size_t allowed)
    : impl_(std::make_unique<impl>()) {
    auto& self = *impl_;
    self.default_script = std::move(default_script);
    self.allowed = allowed;
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    self.acceptor.open(endpoint.protocol());
    ::fcntl(self.acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
    self.acceptor.bind(endpoint);
    self.acceptor.listen();
    self.port = self.acceptor.local_endpoint().port();
    net::co_spawn(self.ioc, self.accept_loop(), net::detached);
    self.thread = std::thread([&self] { self.ioc.run(); });
}

stepped_backend::~stepped_backend() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::string stepped_backend::url() const {
    return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void stepped_backend::on(std::string path, stepped_script script) {
    auto& self = *impl_;
    net::post(self.ioc, [&self, path = std::move(path), script = std::move(script)]() mutable {
        self.scripts[std::move(path)] = std::move(script);
    });
}

void stepped_backend::allow(std::size_t pieces) {
    auto& self = *impl_;
    net::post(self.ioc, [&self, pieces] {
        self.allowed = pieces;
        self.gate.cancel();
    });
}

bool stepped_backend::wait_for_pieces(std::size_t n, std::chrono::milliseconds timeout) const {
    return impl_->wait(timeout, [&] { return impl_->pieces_written >= n; });
}

bool stepped_backend::wait_for_ended_connections(std::size_t n,
                                                 std::chrono::milliseconds timeout) const {
    return impl_->wait(timeout, [&] { return impl_->connections_ended >= n; });
}

}  // namespace spillway::test
