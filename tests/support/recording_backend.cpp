#include "support/recording_backend.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <deque>
#include <future>
#include <set>
#include <thread>

namespace spillway::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string received_request::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (iequals(n, name)) {
            return v;
        }
    }
    return "";
}

struct recording_backend::impl {
    explicit impl(recording_backend_options o)
        : options(o), acceptor(ioc), release_event(ioc, net::steady_timer::time_point::max()) {}

    recording_backend_options options;
    net::io_context ioc;
    // While the backend is down nothing else keeps run() from returning.
    net::executor_work_guard<net::io_context::executor_type> keep_running{ioc.get_executor()};
    tcp::acceptor acceptor;
    net::steady_timer release_event;  // cancelled by release()
    std::set<tcp::socket*> sockets;   // io thread only
    std::uint16_t port = 0;
    std::thread thread;

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::deque<unsigned> script;
    std::vector<received_request> requests;
    std::size_t count = 0;
    std::size_t answered = 0;
    std::size_t hold_at = SIZE_MAX;
    std::map<std::string, unsigned> effects;
    std::size_t duplicates = 0;

    void listen(std::uint16_t on_port) {
        acceptor.open(tcp::v4());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind({net::ip::make_address("127.0.0.1"), on_port});
        acceptor.listen();
        port = acceptor.local_endpoint().port();
        net::co_spawn(ioc, accept_loop(), net::detached);
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
            if (ec) {
                co_return;
            }
            net::co_spawn(ioc, session(std::move(socket)), net::detached);
        }
    }

    // Decides the answer and records the request; returns the status and whether to hold it.
    std::pair<unsigned, bool> take(received_request&& r) {
        std::lock_guard lock(mutex);
        std::string key = r.header("Idempotency-Key");
        bool done_before = options.dedupe && effects.contains(key);
        unsigned status = options.default_status;
        if (done_before) {
            status = 200;
            ++duplicates;
        } else if (!script.empty()) {
            status = script.front();
            script.pop_front();
        }
        if (!done_before && status >= 200 && status < 300) {
            ++effects[key];
        }
        r.status = status;
        ++count;
        bool hold = answered >= hold_at;
        if (!hold) {
            ++answered;
        }
        if (options.record) {
            requests.push_back(std::move(r));
        }
        changed.notify_all();
        return {status, hold};
    }

    // Reads one request with the raw bytes kept: the parser is fed by hand from the buffer.
    net::awaitable<bool> read_request(tcp::socket& socket, beast::flat_buffer& buffer,
                                      received_request& out) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        parser.eager(true);
        bool need_read = buffer.size() == 0;
        while (!parser.is_done()) {
            if (need_read) {
                auto [ec, n] = co_await socket.async_read_some(buffer.prepare(64 * 1024), use_tuple);
                if (ec) {
                    co_return false;
                }
                buffer.commit(n);
            }
            beast::error_code ec;
            auto used = parser.put(buffer.data(), ec);
            if (options.record) {
                out.raw.append(static_cast<const char*>(buffer.data().data()), used);
            }
            buffer.consume(used);
            if (ec && ec != http::error::need_more) {
                co_return false;
            }
            need_read = ec == http::error::need_more || used == 0 || buffer.size() == 0;
        }
        auto& req = parser.get();
        out.method = std::string(req.method_string());
        out.target = std::string(req.target());
        for (const auto& field : req) {
            out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
        out.body = std::move(req.body());
        co_return true;
    }

    net::awaitable<void> session(tcp::socket socket) {
        sockets.insert(&socket);
        beast::flat_buffer buffer;
        for (;;) {
            received_request r;
            if (!co_await read_request(socket, buffer, r)) {
                break;
            }
            bool keep_alive = !iequals(r.header("Connection"), "close");
            auto [status, hold] = take(std::move(r));
            if (hold) {
                co_await release_event.async_wait(use_tuple);
                if (!socket.is_open()) {
                    break;
                }
            }
            http::response<http::string_body> res{static_cast<http::status>(status), 11};
            res.set(http::field::content_type, "text/plain");
            res.body() = "ok";
            res.keep_alive(keep_alive);
            res.prepare_payload();
            auto [ec, n] = co_await http::async_write(socket, res, use_tuple);
            if (ec || !keep_alive) {
                break;
            }
        }
        sockets.erase(&socket);
    }

    template <typename F>
    void run_on_io(F&& f) {
        std::promise<void> done;
        net::post(ioc, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }
};

recording_backend::recording_backend(recording_backend_options options)
    : impl_(std::make_unique<impl>(options)) {
    impl_->listen(0);
    port_ = impl_->port;
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

recording_backend::~recording_backend() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::string recording_backend::url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
}

void recording_backend::script(std::vector<unsigned> statuses) {
    std::lock_guard lock(impl_->mutex);
    impl_->script.assign(statuses.begin(), statuses.end());
}

void recording_backend::set_default_status(unsigned status) {
    std::lock_guard lock(impl_->mutex);
    impl_->options.default_status = status;
}

void recording_backend::go_down() {
    impl_->run_on_io([this] {
        beast::error_code ignored;
        impl_->acceptor.close(ignored);
        for (auto* s : impl_->sockets) {
            // SO_LINGER 0: a reset, as when the process dies.
            s->set_option(tcp::socket::linger(true, 0), ignored);
            s->close(ignored);
        }
        impl_->release_event.cancel();
    });
}

void recording_backend::come_back() {
    impl_->run_on_io([this] { impl_->listen(port_); });
}

void recording_backend::hold_after(std::size_t n) {
    std::lock_guard lock(impl_->mutex);
    impl_->hold_at = impl_->answered + n;
}

void recording_backend::release() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->hold_at = SIZE_MAX;
    }
    impl_->run_on_io([this] { impl_->release_event.cancel(); });
}

std::vector<received_request> recording_backend::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

std::size_t recording_backend::request_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->count;
}

std::map<std::string, unsigned> recording_backend::effects() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->effects;
}

std::size_t recording_backend::duplicates() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->duplicates;
}

bool recording_backend::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->count >= n; });
}

bool recording_backend::wait_for_effects(std::size_t distinct_keys,
                                         std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout,
                                   [&] { return impl_->effects.size() >= distinct_keys; });
}

}  // namespace spillway::test
