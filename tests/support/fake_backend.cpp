#include "support/fake_backend.hpp"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace spillway::test {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
constexpr std::size_t piece_bytes = 64 * 1024;  // a multiple of 26: every piece is the same
constexpr std::uint64_t max_request_body = 256ull * 1024 * 1024;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string hex(std::size_t n) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%zx", n);
    return buf;
}

const std::string& pattern_piece() {
    static const std::string piece = [] {
        std::string s(piece_bytes - piece_bytes % 26, '\0');
        for (std::size_t i = 0; i < s.size(); ++i) {
            s[i] = pattern_byte(i);
        }
        return s;
    }();
    return piece;
}

// Asio does not open sockets close-on-exec: without it, a proxy the test spawns later inherits
// the listener and keeps it accepting (into a backlog nobody serves) after stop().
void set_cloexec(int fd) {
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

bool bodiless_status(unsigned status) {
    return status / 100 == 1 || status == 204 || status == 304;
}

// The response head: status line, scripted headers, framing, connection decision.
std::string response_head(const route& r, std::uint64_t body_size, bool keep_alive) {
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " +
                       std::string(http::obsolete_reason(http::int_to_status(r.status))) + "\r\n";
    for (const auto& [name, value] : r.headers) {
        head += name + ": " + value + "\r\n";
    }
    if (r.status / 100 != 1 && r.status != 204) {
        if (r.chunked && r.status != 304) {
            head += "Transfer-Encoding: chunked\r\n";
        } else {
            head += "Content-Length: " + std::to_string(body_size) + "\r\n";
        }
    }
    if (!keep_alive) {
        head += "Connection: close\r\n";
    }
    head += "\r\n";
    return head;
}

}  // namespace

std::optional<std::string> find_header(const header_list& headers, std::string_view name) {
    for (const auto& [n, v] : headers) {
        if (iequals(n, name)) {
            return v;
        }
    }
    return std::nullopt;
}

std::size_t count_header(const header_list& headers, std::string_view name) {
    std::size_t count = 0;
    for (const auto& h : headers) {
        count += iequals(h.first, name) ? 1 : 0;
    }
    return count;
}

struct fake_backend::impl {
    // Both destroyed by stop(), after it closed every connection.
    std::unique_ptr<net::io_context> ioc = std::make_unique<net::io_context>(1);
    std::optional<tcp::acceptor> acceptor;
    std::thread thread;
    std::uint16_t port = 0;
    std::atomic<std::size_t> accepted{0};
    std::set<beast::tcp_stream*> live;  // open connections; touched on the io thread only

    mutable std::mutex mutex;
    mutable std::condition_variable arrived;
    std::vector<recorded_request> received;
    std::map<std::string, route, std::less<>> routes;
    bool stopped = false;

    net::awaitable<void> accept_loop();
    net::awaitable<void> serve(tcp::socket socket, std::size_t index);
    net::awaitable<boost::system::error_code> respond(beast::tcp_stream& stream,
                                                      const recorded_request& req, const route& r,
                                                      bool keep_alive);

    route route_for(std::string_view target) const {
        const auto path = target.substr(0, target.find('?'));
        std::lock_guard lock(mutex);
        auto it = routes.find(path);
        return it == routes.end() ? route{} : it->second;
    }

    void record(recorded_request req) {
        {
            std::lock_guard lock(mutex);
            received.push_back(std::move(req));
        }
        arrived.notify_all();
    }
};

net::awaitable<void> fake_backend::impl::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor->async_accept(tuple_awaitable);
        if (ec) {
            co_return;
        }
        set_cloexec(socket.native_handle());
        const auto index = ++accepted;
        net::co_spawn(acceptor->get_executor(), serve(std::move(socket), index), net::detached);
    }
}

net::awaitable<void> fake_backend::impl::serve(tcp::socket socket, std::size_t index) {
    beast::tcp_stream stream(std::move(socket));
    live.insert(&stream);
    struct unlink {
        std::set<beast::tcp_stream*>& set;
        beast::tcp_stream* stream;
        ~unlink() { set.erase(stream); }
    } unlink_on_exit{live, &stream};
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_request_body);
        parser.header_limit(1024 * 1024);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
        if (ec) {
            break;
        }
        const auto& msg = parser.get();
        recorded_request req;
        req.method = msg.method_string();
        req.target = msg.target();
        req.version = msg.version();
        for (const auto& f : msg) {
            req.headers.emplace_back(f.name_string(), f.value());
        }
        req.body = msg.body();
        req.connection = index;
        const bool keep_alive = msg.keep_alive();
        const auto r = route_for(req.target);
        record(req);

        if (r.delay.count() > 0) {
            net::steady_timer timer(stream.get_executor(), r.delay);
            co_await timer.async_wait(tuple_awaitable);
        }
        if (r.close_without_answer) {
            break;
        }
        if (auto wec = co_await respond(stream, req, r, keep_alive && !r.close_after); wec) {
            break;
        }
        if (!keep_alive || r.close_after) {
            break;
        }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<boost::system::error_code> fake_backend::impl::respond(beast::tcp_stream& stream,
                                                                      const recorded_request& req,
                                                                      const route& r,
                                                                      bool keep_alive) {
    std::string literal;
    if (r.echo) {
        literal = req.body;
    } else if (r.body) {
        literal = *r.body;
    } else if (r.body_bytes == 0) {
        literal = req.method + " " + req.target;
    }
    const bool generated = !r.echo && !r.body && r.body_bytes > 0;
    const std::uint64_t size = generated ? r.body_bytes : literal.size();
    const bool send_body = req.method != "HEAD" && !bodiless_status(r.status);

    std::string out = response_head(r, size, keep_alive);
    if (send_body && !generated) {
        if (r.chunked) {
            // Two chunks when possible, so a relay that assumes one chunk is caught.
            const std::size_t first = literal.size() / 2;
            if (first > 0) {
                out += hex(first) + "\r\n" + literal.substr(0, first) + "\r\n";
            }
            if (literal.size() > first) {
                out += hex(literal.size() - first) + "\r\n" + literal.substr(first) + "\r\n";
            }
            out += "0\r\n\r\n";
        } else {
            out += literal;
        }
    }
    auto [ec, n] = co_await net::async_write(stream, net::buffer(out), tuple_awaitable);
    if (ec || !send_body || !generated) {
        co_return ec;
    }
    const auto& piece = pattern_piece();
    for (std::uint64_t sent = 0; sent < size && !ec;) {
        const std::size_t len =
            static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), size - sent));
        if (r.chunked) {
            const std::string size_line = hex(len) + "\r\n";
            const std::array<net::const_buffer, 3> bufs{
                net::buffer(size_line), net::buffer(piece.data(), len), net::buffer("\r\n", 2)};
            std::tie(ec, n) = co_await net::async_write(stream, bufs, tuple_awaitable);
        } else {
            std::tie(ec, n) =
                co_await net::async_write(stream, net::buffer(piece.data(), len), tuple_awaitable);
        }
        sent += len;
    }
    if (!ec && r.chunked) {
        std::tie(ec, n) =
            co_await net::async_write(stream, net::buffer("0\r\n\r\n", 5), tuple_awaitable);
    }
    co_return ec;
}

fake_backend::fake_backend() : impl_(std::make_unique<impl>()) {
    auto& self = *impl_;
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    self.acceptor.emplace(*self.ioc);
    self.acceptor->open(endpoint.protocol());
    set_cloexec(self.acceptor->native_handle());
    self.acceptor->bind(endpoint);
    self.acceptor->listen();
    self.port = self.acceptor->local_endpoint().port();
    net::co_spawn(*self.ioc, self.accept_loop(), net::detached);
    self.thread = std::thread([&self] { self.ioc->run(); });
}

fake_backend::~fake_backend() {
    stop();
}

std::uint16_t fake_backend::port() const {
    return impl_->port;
}

std::string fake_backend::url() const {
    return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void fake_backend::on(std::string path, route r) {
    std::lock_guard lock(impl_->mutex);
    impl_->routes[std::move(path)] = std::move(r);
}

std::vector<recorded_request> fake_backend::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->received;
}

std::size_t fake_backend::request_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->received.size();
}

std::size_t fake_backend::accepted_connections() const {
    return impl_->accepted.load();
}

bool fake_backend::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->arrived.wait_for(lock, timeout, [&] { return impl_->received.size() >= n; });
}

void fake_backend::stop() {
    auto& self = *impl_;
    {
        std::lock_guard lock(self.mutex);
        if (self.stopped) {
            return;
        }
        self.stopped = true;
    }
    // Close the listener and every connection on the io thread, where they live; destroying the
    // io_context alone would not close the sockets its suspended coroutines own.
    std::promise<void> closed;
    net::post(*self.ioc, [&self, &closed] {
        boost::system::error_code ignored;
        self.acceptor->close(ignored);
        for (auto* stream : self.live) {
            stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream->socket().close(ignored);
        }
        closed.set_value();
    });
    closed.get_future().wait_for(5s);
    self.ioc->stop();
    if (self.thread.joinable()) {
        self.thread.join();
    }
    self.acceptor.reset();
    self.ioc.reset();
}

}  // namespace spillway::test
