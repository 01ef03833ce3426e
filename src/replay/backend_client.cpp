#include "spillway/replay/backend_client.hpp"

#include "spillway/replay/retry_after.hpp"
#include "spillway/upstream/response_body.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <array>

namespace spillway::replay {

namespace beast = boost::beast;
namespace http = beast::http;
using error_code = boost::system::error_code;

namespace {

// Reads the rest of the response and throws it away: the replay needs only the status. The
// exchange's deadline bounds it; the connection's buffer bounds what a hostile backend's framing
// can make it hold.
netx::task<error_code> discard_body(upstream::connection& c, upstream::response_parser& parser) {
    std::array<char, 16 * 1024> scratch;
    while (!parser.is_done()) {
        const auto piece = co_await upstream::read_body_some(c.stream, c.buffer, parser, scratch);
        if (piece.error) {
            co_return piece.error;
        }
    }
    co_return error_code{};
}

netx::task<void> sweep_until_stopped(std::shared_ptr<netx::deadline_sweeper> sweeper) {
    co_await sweeper->run();
}

}  // namespace

struct backend_client::exchange_result {
    error_code error;
    bool received = false;  // whether any byte of a response arrived
    unsigned status = 0;
    bool reusable = false;  // read to its end, keep-alive, nothing unread after it
    std::optional<std::chrono::milliseconds> retry_after;
};

void exchange_cancel::cancel() {
    cancelled_ = true;
    if (connection_ != nullptr) {
        error_code ignored;
        connection_->stream.socket().close(ignored);  // what is pending on it ends now
    }
}

backend_client::backend_client(netx::executor ex, const config::backend_config& cfg,
                               std::size_t max_idle, std::string probe_path)
    : cfg_(cfg),
      probe_head_("GET " + probe_path + " HTTP/1.1\r\nHost: " + cfg.address.to_string() +
                  "\r\nUser-Agent: spillway-replay-probe\r\nConnection: close\r\n\r\n"),
      sweeper_(std::make_shared<netx::deadline_sweeper>(
          ex, netx::deadline_sweeper::resolution_for(
                  std::min(cfg_.connect_timeout, cfg_.response_timeout)))),
      pool_(*sweeper_, cfg_, cfg_.address, gauges_, max_idle) {
    net::co_spawn(ex, sweep_until_stopped(sweeper_), net::detached);
}

backend_client::~backend_client() {
    sweeper_->stop();
}

std::string backend_client::default_host() const {
    return cfg_.address.to_string();
}

void backend_client::close_all() {
    closed_ = true;
    pool_.close();
}

netx::task<send_result> backend_client::send(const outgoing_request& r, unsigned attempt,
                                             exchange_cancel* cancel) {
    const auto cancelled = [&] { return closed_ || (cancel != nullptr && cancel->cancelled()); };
    for (bool fresh_only = false;; fresh_only = true) {
        if (cancelled()) {
            co_return send_result{};
        }
        // (Two co_awaits in one conditional expression miscompile with GCC 12.)
        upstream::acquire_result acquired;
        if (fresh_only) {
            acquired = co_await pool_.connect();
        } else {
            acquired = co_await pool_.acquire();
        }
        if (acquired.error || cancelled()) {
            co_return send_result{
                cancelled() ? send_result::kind::aborted : send_result::kind::connect_failed, 0,
                std::nullopt, "connect: " + acquired.error.message()};
        }
        const bool reused = acquired.connection->requests++ > 0;
        if (cancel != nullptr) {
            cancel->connection_ = acquired.connection.get();
        }
        const auto x = co_await exchange(*acquired.connection, r, attempt);
        if (cancel != nullptr) {
            cancel->connection_ = nullptr;
        }
        if (cancelled()) {
            co_return send_result{};  // the connection closes as it goes out of scope
        }
        if (!x.error) {
            if (x.reusable) {
                pool_.release(std::move(acquired.connection));
            }
            co_return send_result{send_result::kind::response, x.status, x.retry_after, {}};
        }
        // The backend closes idle keep-alive connections when it likes; a reused one that fails
        // before any response byte gets one more try on a new connection.
        if (reused && !x.received && x.error != beast::error::timeout) {
            continue;
        }
        co_return send_result{send_result::kind::transport_failed, 0, std::nullopt,
                              x.error.message(), x.error == beast::error::timeout};
    }
}

netx::task<probe_result> backend_client::probe() {
    // A new connection each time: a pooled one would show only that an old connection still works.
    const auto acquired = co_await pool_.connect();
    if (acquired.error) {
        co_return probe_result{std::nullopt, "connect: " + acquired.error.message()};
    }
    auto& c = *acquired.connection;  // closed as `acquired` goes out of scope
    c.stream.expires_after(cfg_.response_timeout);
    auto [write_error, written] =
        co_await net::async_write(c.stream, net::buffer(probe_head_), netx::use_task);
    if (write_error) {
        co_return probe_result{std::nullopt, c.stream.translate(write_error).message()};
    }
    std::optional<upstream::response_parser> parser;
    const auto head_read = co_await upstream::read_response_head(c.stream, c.buffer, parser);
    if (head_read.error) {
        co_return probe_result{std::nullopt, head_read.error.message()};
    }
    co_return probe_result{parser->get().result_int(), {}};
}

netx::task<backend_client::exchange_result> backend_client::exchange(upstream::connection& c,
                                                                     const outgoing_request& r,
                                                                     unsigned attempt) {
    exchange_result out;
    std::string head;
    append_wire_head(head, r, attempt);
    const std::array<net::const_buffer, 2> request{net::buffer(head), net::buffer(r.body)};
    c.stream.expires_after(cfg_.response_timeout);
    auto [write_error, written] = co_await net::async_write(c.stream, request, netx::use_task);
    if (write_error) {
        out.error = c.stream.translate(write_error);
        co_return out;
    }
    std::optional<upstream::response_parser> parser;
    const auto head_read = co_await upstream::read_response_head(
        c.stream, c.buffer, parser, {.head_request = r.method == "HEAD"});
    out.received = head_read.received;
    if (head_read.error) {
        out.error = head_read.error;
        co_return out;
    }
    const auto& response = parser->get();
    out.status = response.result_int();
    if (auto it = response.find(http::field::retry_after); it != response.end()) {
        out.retry_after = parse_retry_after(it->value(), std::chrono::system_clock::now());
    }
    out.error = co_await discard_body(c, *parser);
    // Bytes after the response (in the buffer now, or arriving later: is_stale sees those) would
    // be read as the next request's answer, so such a connection is never reused.
    out.reusable = !out.error && parser->keep_alive() && out.status != 101 && c.buffer.size() == 0;
    co_return out;
}

}  // namespace spillway::replay
