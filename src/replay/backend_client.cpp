#include "spillway/replay/backend_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <charconv>

namespace spillway::replay {

namespace http = beast::http;
using net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
    unsigned seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || end != value.data() + value.size()) {
        return std::nullopt;  // an HTTP-date is not worth a clock comparison here
    }
    return std::chrono::seconds{seconds};
}

}  // namespace

struct backend_client::exchange_result {
    error_code ec;
    bool got_bytes = false;  // whether any byte of a response arrived
    unsigned status = 0;
    bool keep_alive = false;
    std::optional<std::chrono::milliseconds> retry_after;
};

backend_client::backend_client(net::any_io_executor ex, const config::backend_config& cfg,
                               std::size_t max_idle)
    : ex_(std::move(ex)), cfg_(cfg), max_idle_(max_idle) {}

std::string backend_client::default_host() const {
    return cfg_.address.to_string();
}

void backend_client::close_all() {
    closed_ = true;
    for (auto* list : {&idle_, &busy_}) {
        for (auto& c : *list) {
            error_code ignored;
            c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            c.stream.close();
        }
    }
    idle_.clear();  // busy ones are erased by their exchanges
}

net::awaitable<error_code> backend_client::connect(connection& c) {
    tcp::resolver resolver(ex_);
    auto [rec, results] = co_await resolver.async_resolve(
        cfg_.address.host, std::to_string(cfg_.address.port), use_tuple);
    if (rec) {
        co_return rec;
    }
    c.stream.expires_after(cfg_.connect_timeout);
    auto [ec, endpoint] = co_await c.stream.async_connect(results, use_tuple);
    if (!ec) {
        c.stream.socket().set_option(tcp::no_delay(true));
        ++opened_;
    }
    co_return ec;
}

net::awaitable<backend_client::exchange_result> backend_client::exchange(
    connection& c, const outgoing_request& r, unsigned attempt) {
    exchange_result out;
    c.head.clear();  // the connection's buffer: no allocation per message once it has grown
    append_wire_head(c.head, r, attempt);
    const std::array<net::const_buffer, 2> request{net::buffer(c.head), net::buffer(r.body)};
    c.stream.expires_after(cfg_.response_timeout);
    auto [wec, written] = co_await net::async_write(c.stream, request, use_tuple);
    if (wec) {
        out.ec = wec;
        co_return out;
    }
    // Interim 1xx responses are skipped; the final one decides.
    for (int interim = 0; interim < 8; ++interim) {
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(boost::none);
        parser.skip(r.method == "HEAD");
        std::size_t before = c.buffer.size();
        auto [hec, hn] = co_await http::async_read_header(c.stream, c.buffer, parser, use_tuple);
        out.got_bytes = out.got_bytes || hn > 0 || c.buffer.size() > before;
        if (hec) {
            out.ec = hec;
            co_return out;
        }
        auto& res = parser.get();
        out.status = res.result_int();
        if (out.status >= 100 && out.status < 200 && out.status != 101) {
            continue;
        }
        // The body is read and discarded: the replay needs only the status.
        char scratch[16 * 1024];
        while (!parser.is_done()) {
            res.body().data = scratch;
            res.body().size = sizeof scratch;
            auto [bec, bn] = co_await http::async_read(c.stream, c.buffer, parser, use_tuple);
            if (bec && bec != http::error::need_buffer) {
                out.ec = bec;
                co_return out;
            }
        }
        out.keep_alive = res.keep_alive() && out.status != 101;
        if (auto it = res.find(http::field::retry_after); it != res.end()) {
            out.retry_after = parse_retry_after(it->value());
        }
        co_return out;
    }
    out.ec = http::error::bad_status;
    co_return out;
}

void backend_client::release(connection_list::iterator it, bool keep_alive) {
    if (keep_alive && !closed_ && idle_.size() < max_idle_) {
        idle_.splice(idle_.end(), busy_, it);
        return;
    }
    error_code ignored;
    it->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    it->stream.close();
    busy_.erase(it);
}

net::awaitable<send_result> backend_client::send(const outgoing_request& r, unsigned attempt) {
    for (int tries = 0; tries < 2; ++tries) {
        if (closed_) {
            co_return send_result{};
        }
        bool reused = !idle_.empty();
        connection_list::iterator it;
        if (reused) {
            it = std::prev(idle_.end());
            busy_.splice(busy_.end(), idle_, it);
        } else {
            it = busy_.emplace(busy_.end(), ex_);
            auto ec = co_await connect(*it);
            if (ec) {
                release(it, false);
                co_return send_result{closed_ ? send_result::kind::aborted
                                              : send_result::kind::connect_failed,
                                      0, std::nullopt, "connect: " + ec.message()};
            }
        }
        auto x = co_await exchange(*it, r, attempt);
        release(it, !x.ec && x.keep_alive);
        if (closed_) {
            co_return send_result{};
        }
        if (!x.ec) {
            co_return send_result{send_result::kind::response, x.status, x.retry_after, {}};
        }
        // The backend closes idle keep-alive connections when it likes; a reused one that fails
        // before any response byte gets one more try on a new connection.
        if (reused && !x.got_bytes && x.ec != beast::error::timeout) {
            continue;
        }
        co_return send_result{send_result::kind::transport_failed, 0, std::nullopt,
                              x.ec.message()};
    }
    co_return send_result{send_result::kind::transport_failed, 0, std::nullopt,
                          "connection closed before a response"};
}

net::awaitable<bool> backend_client::probe() {
    connection c(ex_);
    auto ec = co_await connect(c);
    error_code ignored;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    c.stream.close();
    co_return !ec;
}

}  // namespace spillway::replay
