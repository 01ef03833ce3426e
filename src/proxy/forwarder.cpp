#include "spillway/proxy/forwarder.hpp"

#include "spillway/core/errors.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
#include <charconv>
#include <cstring>

namespace spillway::proxy {

namespace {

// A failure's detail. For an errno (refused, reset, unreachable) glibc's English text, the same
// words strerror gives in the C locale, without the locale lookup strerror does on every call:
// on the failure path every request ends here, and that lookup showed in its profile.
std::string error_text(const boost::system::error_code& ec) {
    if (ec.category() == boost::system::system_category()) {
        if (const char* text = ::strerrordesc_np(ec.value())) {
            return text;
        }
    }
    return ec.message();
}

constexpr auto tuple_awaitable = netx::use_task;
constexpr std::size_t relay_chunk_bytes = 16 * 1024;
constexpr std::size_t upstream_header_limit = 64 * 1024;

using response_parser = http::response_parser<http::buffer_body>;

bool is_idempotent(http::verb method) {
    switch (method) {
        case http::verb::get:
        case http::verb::head:
        case http::verb::put:
        case http::verb::delete_:
        case http::verb::options:
        case http::verb::trace:
            return true;
        default:
            return false;
    }
}

core::failure make_failure(core::failure_kind kind, bool sent, std::string detail) {
    return core::failure{kind, std::nullopt, sent, std::move(detail)};
}

// Reports a request's verdict on its endpoint's circuit exactly once: what the forwarder decided,
// or "none" (the probe given back) when the coroutine ended without a verdict.
class circuit_guard {
public:
    circuit_guard(backend_endpoint& e, circuit_breaker::ticket t) : endpoint_(e), ticket_(t) {}
    ~circuit_guard() {
        if (!reported_) {
            endpoint_.report(ticket_, verdict::none);
        }
    }
    circuit_guard(const circuit_guard&) = delete;
    circuit_guard& operator=(const circuit_guard&) = delete;

    void report(const std::optional<core::failure>& failure) {
        reported_ = true;
        if (!failure) {
            endpoint_.report(ticket_, verdict::success);
            return;
        }
        const std::string cause = std::string(core::to_string(failure->kind)) + ": " +
                                  failure->detail;
        endpoint_.report(ticket_, verdict::failure, cause);
    }

private:
    backend_endpoint& endpoint_;
    circuit_breaker::ticket ticket_;
    bool reported_ = false;
};

// The buffers of one write to the client: the response head (first write only), then a piece of
// the body, framed as a chunk when the client gets the body re-chunked.
class body_piece {
public:
    body_piece(const std::string* head, bool chunked, const char* data, std::size_t n, bool last) {
        if (head != nullptr) {
            add(net::buffer(*head));
        }
        if (chunked && n > 0) {
            auto [end, ec] = std::to_chars(size_line_, size_line_ + sizeof size_line_ - 2, n, 16);
            end[0] = '\r';
            end[1] = '\n';
            add(net::buffer(size_line_, static_cast<std::size_t>(end + 2 - size_line_)));
        }
        if (n > 0) {
            add(net::buffer(data, n));
        }
        if (chunked && n > 0) {
            add(net::buffer("\r\n", 2));
        }
        if (chunked && last) {
            add(net::buffer("0\r\n\r\n", 5));
        }
    }

    std::span<const net::const_buffer> buffers() const { return {out_.data(), count_}; }

private:
    void add(net::const_buffer b) { out_[count_++] = b; }

    std::array<net::const_buffer, 5> out_;
    std::size_t count_ = 0;
    char size_line_[20];
};

}  // namespace

struct forwarder::exchange {
    const client_request& req;
    upstream::connection_ptr conn;
    std::optional<response_parser> parser;
    std::string& head;  // the request head sent to the backend, then the client's response head
};

forwarder::forwarder(netx::deadline_sweeper& sweeper, backend_endpoints& endpoints,
                     unsigned worker, const config::config& cfg, bool capture_statuses,
                     metrics::histogram& upstream_duration)
    : cfg_(cfg), upstream_duration_(upstream_duration) {
    for (auto& e : endpoints) {
        routes_.push_back(std::unique_ptr<route>(new route{
            *e, upstream::connection_pool(sweeper, cfg.backend, e->address(), e->gauges(worker))}));
    }
    if (capture_statuses) {
        for (unsigned status : cfg.capture.on) {
            capture_on_.set(status);
        }
    }
}

void forwarder::close_idle() {
    for (auto& r : routes_) {
        r->pool.close_idle();
    }
}

core::failure forwarder::circuit_open_failure() const {
    std::string detail = routes_.size() == 1
                             ? "circuit open for backend " + routes_.front()->endpoint.name()
                             : "circuit open for every backend endpoint (" +
                                   std::to_string(routes_.size()) + ")";
    return make_failure(core::failure_kind::circuit_open, false, std::move(detail));
}

// Tries the endpoints in round-robin order, each at most once, skipping those whose circuit
// refuses; stops at the first answer, or at a failure after which another endpoint must not get
// the request. The failure returned is the last one, with sent_upstream true when any endpoint
// received bytes of the request (the replay must then assume it may have been acted on).
task<forwarder::result> forwarder::forward(netx::timed_socket& client,
                                           const client_request& req,
                                           request_record& record, bool keep_alive,
                                           std::string& scratch) {
    exchange x{req, nullptr, std::nullopt, scratch};
    const std::size_t n = routes_.size();
    const std::size_t first = next_ % n;
    std::optional<core::failure> last;
    bool sent_anywhere = false;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t index = (first + i) % n;
        route& r = *routes_[index];
        const auto ticket = r.endpoint.admit();
        if (ticket.how == admission::refuse) {
            continue;
        }
        if (!last) {
            next_ = index + 1;  // round-robin over the endpoints that take requests
        }
        circuit_guard guard(r.endpoint, ticket);
        record.upstream = r.endpoint.name();
        x.head.clear();  // (relay may have used it for a client head)
        build_upstream_request_head(x.head, req,
                                    forward_context{record.client_ip, record.id.view(),
                                                    r.endpoint.name(),
                                                    record.trace.generated_header()});
        const auto started = std::chrono::steady_clock::now();
        auto failure = co_await send_and_read_head(x, r.pool);
        upstream_duration_.observe(std::chrono::steady_clock::now() - started);
        guard.report(failure);
        if (!failure) {
            auto relayed = co_await relay(client, x, r.pool, record, keep_alive);
            if (!relayed.failure) {
                co_return relayed;
            }
            failure = std::move(relayed.failure);  // nothing reached the client yet
        }
        sent_anywhere = sent_anywhere || failure->sent_upstream;
        last = std::move(failure);
        if (last->sent_upstream && !is_idempotent(req.method())) {
            break;
        }
    }
    if (!last) {
        record.upstream = routes_[first]->endpoint.name();
        co_return result{circuit_open_failure(), keep_alive};
    }
    last->sent_upstream = sent_anywhere;
    co_return result{std::move(last), keep_alive};
}

// Sends the request and reads the response head, retrying once on a new connection when a
// pooled one turns out closed before the backend could have acted on the request.
task<std::optional<core::failure>> forwarder::send_and_read_head(exchange& x,
                                                                 upstream::connection_pool& pool) {
    for (int attempt = 0;; ++attempt) {
        // (Two co_awaits in one conditional expression miscompile with GCC 12.)
        upstream::acquire_result acquired;
        if (attempt == 0) {
            acquired = co_await pool.acquire();
        } else {
            acquired = co_await pool.connect();
        }
        if (acquired.error) {
            co_return make_failure(core::failure_kind::connect_error, false,
                                   error_text(acquired.error));
        }
        x.conn = std::move(acquired.connection);
        const bool reused = x.conn->requests++ > 0;
        auto& stream = x.conn->stream;

        stream.expires_after(cfg_.backend.response_timeout);
        const std::array<net::const_buffer, 2> request_buffers{net::buffer(x.head),
                                                               net::buffer(x.req.body())};
        auto [wec, written] = co_await net::async_write(stream, request_buffers, tuple_awaitable);
        bool got_head = false;
        boost::system::error_code rec;
        while (!wec) {
            x.parser.emplace();
            x.parser->body_limit(boost::none);
            x.parser->header_limit(upstream_header_limit);
            x.parser->skip(x.req.method() == http::verb::head);
            auto [ec, n] = co_await http::async_read_header(stream, x.conn->buffer, *x.parser,
                                                            tuple_awaitable);
            rec = stream.translate(ec);
            const unsigned status = x.parser->get().result_int();
            if (ec || status < 100 || status > 199 || status == 101) {
                got_head = !ec;
                break;
            }
        }
        const auto ec = wec ? stream.translate(wec) : rec;
        if (got_head) {
            const unsigned status = x.parser->get().result_int();
            if (status < capture_on_.size() && capture_on_.test(status)) {
                auto f = make_failure(core::failure_kind::upstream_status, true,
                                      std::string(x.parser->get().reason()));
                f.status = status;
                x.conn.reset();  // its body is not wanted; the connection is not reused
                co_return f;
            }
            co_return std::nullopt;
        }
        const bool nothing_sent = written == 0;
        x.conn.reset();
        if (ec == beast::error::timeout) {
            co_return make_failure(core::failure_kind::timeout, !nothing_sent,
                                   "no response head within " +
                                       std::to_string(cfg_.backend.response_timeout.count()) + " ms");
        }
        // A pooled connection the backend closed at the same moment we reused it: try once more
        // on a new connection when the backend cannot have acted on the request.
        if (attempt == 0 && reused && (nothing_sent || is_idempotent(x.req.method()))) {
            continue;
        }
        co_return make_failure(core::failure_kind::upstream_reset, !nothing_sent, error_text(ec));
    }
}

task<forwarder::result> forwarder::relay(netx::timed_socket& client, exchange& x,
                                         upstream::connection_pool& pool, request_record& record,
                                         bool keep_alive) {
    auto& parser = *x.parser;
    const auto& head = parser.get().base();
    const bool client_http11 = x.req.version() >= 11;
    const auto parsed_length = parser.content_length();
    const std::optional<std::uint64_t> content_length =
        parsed_length ? std::optional<std::uint64_t>(*parsed_length) : std::nullopt;
    const auto framing = choose_framing(head, x.req.method() == http::verb::head, content_length,
                                        client_http11);
    keep_alive = keep_alive && framing != body_framing::until_close;
    record.status = head.result_int();

    std::string& out_head = x.head;  // the request head is no longer needed
    out_head.clear();
    build_client_response_head(out_head, head, framing, content_length, keep_alive, client_http11);

    std::array<char, relay_chunk_bytes> chunk;
    bool head_sent = false;
    for (;;) {
        std::size_t n = 0;
        if (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            x.conn->stream.expires_after(cfg_.backend.response_timeout);
            auto [rec, ignored] = co_await http::async_read(x.conn->stream, x.conn->buffer,
                                                            parser, tuple_awaitable);
            const auto ec = x.conn->stream.translate(rec);
            if (ec && ec != http::error::need_buffer) {
                if (!head_sent) {  // nothing reached the client: still a capture-worthy failure
                    const auto kind = ec == beast::error::timeout ? core::failure_kind::timeout
                                                                  : core::failure_kind::upstream_reset;
                    co_return result{make_failure(kind, true, "response body: " + ec.message()),
                                     keep_alive};
                }
                record.outcome = request_outcome::aborted;
                co_return result{std::nullopt, false};
            }
            n = chunk.size() - parser.get().body().size;
        }
        const bool done = parser.is_done();
        const body_piece piece(head_sent ? nullptr : &out_head,
                               framing == body_framing::chunked, chunk.data(), n, done);
        client.expires_after(cfg_.limits.idle_timeout);
        auto [wec, written] = co_await net::async_write(client, piece.buffers(), tuple_awaitable);
        head_sent = true;
        record.response_bytes += written;
        if (wec) {
            record.outcome = request_outcome::aborted;
            co_return result{std::nullopt, false};
        }
        if (done) {
            break;
        }
    }
    if (parser.keep_alive() && x.conn->buffer.size() == 0) {
        pool.release(std::move(x.conn));
    }
    co_return result{std::nullopt, keep_alive};
}

}  // namespace spillway::proxy
