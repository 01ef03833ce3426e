#include "support/fake_backend.hpp"

#include "support/fake_backend_ledger.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <fcntl.h>

namespace spillway::test {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
constexpr std::size_t piece_bytes = 64 * 1024;  // a multiple of 26: every piece is the same
constexpr std::uint64_t max_request_body = 256ull * 1024 * 1024;
constexpr std::size_t read_bytes = 64 * 1024;

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
    // Declared before the io_context, so destroyed after it: the sessions' coroutine frames, which
    // the io_context destroys, unlink their sockets from `live` and may hold ledger answers.
    fake_backend_ledger ledger;
    std::set<tcp::socket*> live;  // open connections; touched on the io thread only
    std::unique_ptr<net::io_context> ioc = std::make_unique<net::io_context>(1);
    // While the backend is down nothing else keeps run() from returning.
    net::executor_work_guard<net::io_context::executor_type> keep_running{ioc->get_executor()};
    tcp::acceptor acceptor{*ioc};
    // Never expires; cancelled to wake the sessions holding their answers.
    net::steady_timer release_event{*ioc, net::steady_timer::time_point::max()};
    std::thread thread;
    std::uint16_t port = 0;
    std::atomic<std::size_t> accepted{0};
    std::unique_ptr<net::ssl::context> tls;  // set: every connection speaks TLS first
    std::atomic<std::size_t> tls_handshakes{0};
    std::atomic<std::size_t> tls_handshake_failures{0};
    std::atomic<std::size_t> tls_resumed{0};
    std::mutex stop_mutex;
    bool stopped = false;

    void listen(std::uint16_t on_port);
    net::awaitable<void> accept_loop();
    net::awaitable<void> serve(tcp::socket socket, std::size_t index);
    template <class Stream>
    net::awaitable<void> serve_requests(Stream& stream, tcp::socket& socket, std::size_t index);
    template <class Stream>
    net::awaitable<bool> read_request(Stream& socket, beast::flat_buffer& buffer,
                                      recorded_request& out, bool& keep_alive);
    template <class Stream>
    net::awaitable<boost::system::error_code> respond(Stream& socket, const recorded_request& req,
                                                      const route& r, bool keep_alive);

    // Runs `f` on the io thread, where the sockets live, and waits until it ran.
    template <typename F>
    void run_on_io(F&& f) {
        std::promise<void> done;
        net::post(*ioc, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }
};

void fake_backend::impl::listen(std::uint16_t on_port) {
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), on_port);
    acceptor.open(endpoint.protocol());
    set_cloexec(acceptor.native_handle());
    acceptor.set_option(tcp::acceptor::reuse_address(true));  // come_back() rebinds the port
    acceptor.bind(endpoint);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    net::co_spawn(*ioc, accept_loop(), net::detached);
}

net::awaitable<void> fake_backend::impl::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
        if (ec) {
            co_return;
        }
        set_cloexec(socket.native_handle());
        const auto index = ++accepted;
        net::co_spawn(*ioc, serve(std::move(socket), index), net::detached);
    }
}

// Reads one request, keeping its bytes as they came: the parser is fed by hand from the buffer,
// and what it consumed is appended to out.raw. Bytes past the request stay in `buffer`.
template <class Stream>
net::awaitable<bool> fake_backend::impl::read_request(Stream& socket, beast::flat_buffer& buffer,
                                                      recorded_request& out, bool& keep_alive) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(max_request_body);
    parser.header_limit(1024 * 1024);
    parser.eager(true);
    bool need_read = buffer.size() == 0;
    while (!parser.is_done()) {
        if (need_read) {
            auto [ec, n] =
                co_await socket.async_read_some(buffer.prepare(read_bytes), tuple_awaitable);
            if (ec) {
                co_return false;
            }
            buffer.commit(n);
        }
        beast::error_code ec;
        const auto used = parser.put(buffer.data(), ec);
        out.raw.append(static_cast<const char*>(buffer.data().data()), used);
        buffer.consume(used);
        if (ec && ec != http::error::need_more) {
            co_return false;
        }
        need_read = ec == http::error::need_more || used == 0 || buffer.size() == 0;
    }
    auto& msg = parser.get();
    out.method = msg.method_string();
    out.target = msg.target();
    out.version = msg.version();
    for (const auto& f : msg) {
        out.headers.emplace_back(f.name_string(), f.value());
    }
    out.body = std::move(msg.body());
    keep_alive = msg.keep_alive();
    co_return true;
}

net::awaitable<void> fake_backend::impl::serve(tcp::socket socket, std::size_t index) {
    live.insert(&socket);
    struct unlink {
        std::set<tcp::socket*>& set;
        tcp::socket* socket;
        ~unlink() { set.erase(socket); }
    } unlink_on_exit{live, &socket};
    if (!tls) {
        co_await serve_requests(socket, socket, index);
    } else {
        net::ssl::stream<tcp::socket&> stream(socket, *tls);
        auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, tuple_awaitable);
        if (ec) {
            ++tls_handshake_failures;  // nothing of a request was read
        } else {
            ++tls_handshakes;
            if (SSL_session_reused(stream.native_handle()) == 1) {
                ++tls_resumed;
            }
            co_await serve_requests(stream, socket, index);
        }
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
}

// Reads requests and answers them as the routes say until the client or a route closes.
// `socket` is the TCP socket under `stream` (the same one for plain HTTP).
template <class Stream>
net::awaitable<void> fake_backend::impl::serve_requests(Stream& stream, tcp::socket& socket,
                                                        std::size_t index) {
    beast::flat_buffer buffer;
    for (;;) {
        recorded_request req;
        bool keep_alive = false;
        // (co_await in a condition miscompiles with GCC 12: keep the result in a local.)
        const bool got_request = co_await read_request(stream, buffer, req, keep_alive);
        if (!got_request) {
            break;
        }
        req.connection = index;
        const auto copy = req;  // the ledger keeps the request; the answer needs it too
        const auto answer = ledger.take(std::move(req));
        const auto& r = answer.how;
        const bool hold = answer.hold;
        struct answered_guard {  // however this request ends, it is no longer in progress
            fake_backend_ledger& ledger;
            bool counted;
            void release() {
                if (std::exchange(counted, false)) {
                    ledger.answered();
                }
            }
            ~answered_guard() { release(); }
        } in_progress{ledger, answer.in_progress};
        // Nothing suspends between take() and this wait, so release() cannot slip in between.
        if (hold) {
            co_await release_event.async_wait(tuple_awaitable);
            if (!socket.is_open()) {
                break;
            }
        }
        if (r.delay.count() > 0) {
            net::steady_timer timer(socket.get_executor(), r.delay);
            co_await timer.async_wait(tuple_awaitable);
        }
        if (r.close_without_answer) {
            break;
        }
        // Out of progress before the answer goes out: a client that sends its next request on
        // reading this answer must not find this one still counted.
        in_progress.release();
        const auto wec = co_await respond(stream, copy, r, keep_alive && !r.close_after);
        if (wec) {
            break;
        }
        if (!keep_alive || r.close_after) {
            break;
        }
    }
}

template <class Stream>
net::awaitable<boost::system::error_code> fake_backend::impl::respond(Stream& stream,
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
    self.listen(0);
    self.thread = std::thread([&self] { self.ioc->run(); });
}

fake_backend::fake_backend(const tls_identity& identity) : impl_(std::make_unique<impl>()) {
    auto& self = *impl_;
    self.tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    self.tls->use_certificate_chain_file(identity.cert_file.string());
    self.tls->use_private_key_file(identity.key_file.string(), net::ssl::context::pem);
    self.listen(0);
    self.thread = std::thread([&self] { self.ioc->run(); });
}

std::size_t fake_backend::tls_handshakes() const {
    return impl_->tls_handshakes.load();
}

std::size_t fake_backend::tls_resumed_handshakes() const {
    return impl_->tls_resumed.load();
}

std::size_t fake_backend::tls_handshake_failures() const {
    return impl_->tls_handshake_failures.load();
}

fake_backend::~fake_backend() {
    stop();
}

std::uint16_t fake_backend::port() const {
    return impl_->port;
}

std::string fake_backend::url() const {
    return (impl_->tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(impl_->port);
}

void fake_backend::on(std::string path, route r) {
    impl_->ledger.on(std::move(path), std::move(r));
}

void fake_backend::set_default(route r) {
    impl_->ledger.set_default(std::move(r));
}

void fake_backend::script(std::vector<unsigned> statuses) {
    impl_->ledger.script(std::move(statuses));
}

void fake_backend::dedupe_idempotency_keys(bool on) {
    impl_->ledger.dedupe_idempotency_keys(on);
}

void fake_backend::overloaded_above(std::size_t n) {
    impl_->ledger.overloaded_above(n);
}

std::size_t fake_backend::overloaded_answers() const {
    return impl_->ledger.overloaded_answers();
}

bool fake_backend::wait_for_overloaded_answers(std::size_t n, std::chrono::milliseconds timeout) {
    return impl_->ledger.wait_for_overloaded_answers(n, timeout);
}

void fake_backend::set_probe_path(std::string path) {
    impl_->ledger.set_probe_path(std::move(path));
}

std::size_t fake_backend::probe_count() const {
    return impl_->ledger.probe_count();
}

std::vector<recorded_request> fake_backend::requests() const {
    return impl_->ledger.requests();
}

std::size_t fake_backend::request_count() const {
    return impl_->ledger.request_count();
}

std::size_t fake_backend::accepted_connections() const {
    return impl_->accepted.load();
}

std::map<std::string, unsigned> fake_backend::effects() const {
    return impl_->ledger.effects();
}

std::size_t fake_backend::duplicates() const {
    return impl_->ledger.duplicates();
}

bool fake_backend::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    return impl_->ledger.wait_for_requests(n, timeout);
}

bool fake_backend::wait_for_effects(std::size_t distinct_keys,
                                    std::chrono::milliseconds timeout) const {
    return impl_->ledger.wait_for_effects(distinct_keys, timeout);
}

void fake_backend::go_down() {
    auto& self = *impl_;
    self.run_on_io([&self] {
        boost::system::error_code ignored;
        self.acceptor.close(ignored);
        for (auto* socket : self.live) {
            // SO_LINGER 0: a reset, as when the process dies.
            socket->set_option(tcp::socket::linger(true, 0), ignored);
            socket->close(ignored);
        }
        self.release_event.cancel();
    });
}

void fake_backend::come_back() {
    auto& self = *impl_;
    self.run_on_io([&self] { self.listen(self.port); });
}

void fake_backend::hold_after(std::size_t n) {
    impl_->ledger.hold_after(n);
}

void fake_backend::release() {
    auto& self = *impl_;
    self.ledger.release();
    std::lock_guard lock(self.stop_mutex);
    if (!self.stopped) {
        self.run_on_io([&self] { self.release_event.cancel(); });
    }
}

void fake_backend::stop() {
    auto& self = *impl_;
    {
        std::lock_guard lock(self.stop_mutex);
        if (self.stopped) {
            return;
        }
        self.stopped = true;
    }
    // Close the listener and every connection on the io thread, where they live; destroying the
    // io_context alone would not close the sockets its suspended coroutines own.
    self.run_on_io([&self] {
        boost::system::error_code ignored;
        self.acceptor.close(ignored);
        for (auto* socket : self.live) {
            socket->shutdown(tcp::socket::shutdown_both, ignored);
            socket->close(ignored);
        }
        self.release_event.cancel();
    });
    self.ioc->stop();
    if (self.thread.joinable()) {
        self.thread.join();
    }
}

}  // namespace spillway::test
