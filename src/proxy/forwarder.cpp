#include "spillway/proxy/forwarder.hpp"

#include "spillway/proxy/response_writer.hpp"
#include "spillway/proxy/tls_stream.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/upstream/response_body.hpp"
#include "spillway/upstream/response_head.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include <array>
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

upstream_error error_kind(const boost::system::error_code& ec) {
    return ec == beast::error::timeout ? upstream_error::timeout : upstream_error::closed;
}

constexpr auto tuple_awaitable = netx::use_task;
constexpr std::size_t relay_chunk_bytes = 16 * 1024;

// Reports a request's verdict on its endpoint's circuit exactly once: the policy's, or "none"
// (the probe given back) when the coroutine ended without one.
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

    void report(verdict v, const core::failure& failure) {
        reported_ = true;
        if (v == verdict::success) {
            endpoint_.report(ticket_, v);
            return;
        }
        const std::string cause =
            std::string(core::to_string(failure.kind)) + ": " + failure.detail;
        endpoint_.report(ticket_, v, cause);
    }

private:
    backend_endpoint& endpoint_;
    circuit_breaker::ticket ticket_;
    bool reported_ = false;
};

// One request/response on one upstream connection.
struct exchange {
    const client_request& req;
    upstream::connection_ptr conn;
    std::optional<upstream::response_parser> parser;
    std::string& head;  // the request head sent to the backend, then the client's response head
};

struct relay_end {
    boost::system::error_code upstream;  // set: reading the body failed
    bool reached_client = false;  // a byte of the response was written to the client
    bool client_failed = false;  // writing to the client failed
    bool keep_alive = true;  // the client connection may stay open
};

// Streams the response whose head was read to the client, each piece as it is read (up to
// 16 KiB): an event stream's events reach the client one by one, not when a buffer fills. The
// body bytes that came with the head go out in the head's write; when none came, the head goes
// alone at once. Writing a piece and reading the next are not overlapped: a slow client slows
// the backend down instead of making the proxy buffer for it.
template <client_stream Stream>
task<relay_end> relay(Stream& client, exchange& x, upstream::connection_pool& pool,
                      request_record& record, bool keep_alive, const config::config& cfg) {
    auto& parser = *x.parser;
    const auto parsed_length = parser.content_length();
    const std::optional<std::uint64_t> content_length =
        parsed_length ? std::optional<std::uint64_t>(*parsed_length) : std::nullopt;
    response_writer writer(x.head);  // the request head is no longer needed
    relay_end end;
    end.keep_alive =
        writer.start_relayed(parser.get().base(), content_length,
                             x.req.method() == http::verb::head, x.req.version() >= 11, keep_alive);
    record.status = parser.get().result_int();

    std::array<char, relay_chunk_bytes> chunk;
    auto got = upstream::parse_buffered_body(parser, x.conn->buffer, chunk);
    for (;;) {
        if (got.error) {
            end.upstream = got.error;
            co_return end;
        }
        const bool done = parser.is_done();
        const auto piece = writer.next(chunk.data(), got.bytes, done);
        if (!piece.empty()) {  // (a body that ended with the connection has no last piece)
            deadline_layer(client).expires_after(cfg.limits.idle_timeout);
            auto [wec, written] =
                co_await net::async_write(client, piece.buffers(), tuple_awaitable);
            end.reached_client = true;
            record.response_bytes += written;
            if (wec) {
                end.client_failed = true;
                co_return end;
            }
        }
        if (done) {
            break;
        }
        x.conn->stream.expires_after(cfg.backend.response_timeout);
        got = co_await upstream::read_body_some(x.conn->stream, x.conn->buffer, parser, chunk);
    }
    if (parser.keep_alive() && x.conn->buffer.size() == 0) {
        pool.release(std::move(x.conn));
    }
    co_return end;
}

// Asks the endpoint's circuit; an admitted request gets a guard that reports its verdict.
forward_action admit(backend_endpoint& endpoint, failure_policy& policy,
                     std::optional<circuit_guard>& guard, request_record& record) {
    const auto ticket = endpoint.admit();
    const bool admitted = ticket.how != admission::refuse;
    if (admitted) {
        guard.emplace(endpoint, ticket);
        record.upstream = endpoint.name();
    }
    return policy.on_admission(admitted);
}

void build_request_head(exchange& x, const backend_endpoint& endpoint, const request_record& record,
                        const config::capture_config& capture, std::string_view upgrade = {}) {
    x.head.clear();  // (a relay may have used it for a client head)
    build_upstream_request_head(
        x.head, x.req,
        forward_context{record.client_ip, record.id.view(), endpoint.name(),
                        record.trace.generated_header(), capture.idempotency_header, record.scheme,
                        upgrade});
}

core::failure upgrade_failure(core::failure_kind kind, std::string detail, bool sent_upstream) {
    return core::failure{kind, std::nullopt, sent_upstream, std::move(detail)};
}

forward_action relay_event(failure_policy& policy, const relay_end& end) {
    if (end.client_failed) {
        return policy.on_client_write_failed();
    }
    if (end.upstream) {
        return policy.on_body_failed(error_kind(end.upstream), end.upstream.message(),
                                     end.reached_client);
    }
    return policy.on_relayed();
}

}  // namespace

forwarder::forwarder(netx::deadline_sweeper& sweeper, const backend_endpoints& endpoints,
                     unsigned worker, const config::config& cfg,
                     metrics::histogram& upstream_duration)
    : cfg_(cfg), upstream_duration_(upstream_duration) {
    for (auto& e : endpoints) {
        routes_.push_back(std::unique_ptr<route>(new route{
            *e, upstream::connection_pool(sweeper, cfg.backend, e->address(), e->gauges(worker))}));
    }
    for (unsigned status : cfg.capture.on) {
        rules_.capture_on.set(status);
    }
    rules_.response_timeout = cfg.backend.response_timeout;
}

void forwarder::close_idle() {
    for (auto& r : routes_) {
        r->pool.close_idle();
    }
}

void forwarder::retire() {
    for (auto& r : routes_) {
        r->pool.retire();
    }
}

// Out of descriptors, every request of the episode ends here: one warning a second at most per
// worker, with the request id of the first and how many were answered overloaded since the last.
void forwarder::warn_overloaded(const request_record& record, const backend_endpoint& endpoint,
                                const boost::system::error_code& ec) {
    static const auto log = runtime::logger("proxy");
    const auto now = std::chrono::steady_clock::now();
    ++overloaded_unwarned_;
    if (now - last_overload_warning_ < std::chrono::seconds(1)) {
        return;
    }
    log->warn(
        "request {}: no socket for backend {}: {}; answered 503 overloaded, not captured "
        "({} such request(s) in this worker since the last warning)",
        record.id.view(), endpoint.name(), error_text(ec), overloaded_unwarned_);
    last_overload_warning_ = now;
    overloaded_unwarned_ = 0;
}

std::string forwarder::circuit_open_detail() const {
    return routes_.size() == 1
               ? "circuit open for backend " + routes_.front()->endpoint.name()
               : "circuit open for every backend endpoint (" + std::to_string(routes_.size()) + ")";
}

// Carries out the failure policy's actions until it says relay is done, capture or abort.
template <client_stream Stream>
task<forwarder::result> forwarder::forward(Stream& client, const client_request& req,
                                           request_record& record, bool keep_alive,
                                           std::string& scratch) {
    exchange x{req, nullptr, std::nullopt, scratch};
    failure_policy policy(rules_, routes_.size(), next_, is_idempotent(req.method()));
    std::optional<circuit_guard> guard;
    auto started = std::chrono::steady_clock::now();
    for (auto action = policy.start();;) {
        route& r = *routes_[action.endpoint];
        if (action.report != verdict::none) {
            upstream_duration_.observe(std::chrono::steady_clock::now() - started);
            guard->report(action.report, policy.failure());
        }
        switch (action.step) {
            case forward_step::admit:
                action = admit(r.endpoint, policy, guard, record);
                next_ = policy.cursor();
                break;
            case forward_step::acquire:
            case forward_step::reconnect: {
                if (action.step == forward_step::acquire) {
                    build_request_head(x, r.endpoint, record, cfg_.capture);
                    started = std::chrono::steady_clock::now();
                }
                // (Two co_awaits in one conditional expression miscompile with GCC 12.)
                upstream::acquire_result acquired;
                if (action.step == forward_step::acquire) {
                    acquired = co_await r.pool.acquire();
                } else {
                    acquired = co_await r.pool.connect();
                }
                if (acquired.local) {
                    warn_overloaded(record, r.endpoint, acquired.error);
                    action = policy.on_local_exhaustion();
                    break;
                }
                if (acquired.error) {
                    action = policy.on_connect_failed(error_text(acquired.error));
                    break;
                }
                x.conn = std::move(acquired.connection);
                action = policy.on_connected(x.conn->requests++ > 0);
                break;
            }
            case forward_step::write_request: {
                x.conn->stream.expires_after(cfg_.backend.response_timeout);
                const std::array<net::const_buffer, 2> request{net::buffer(x.head),
                                                               net::buffer(req.body())};
                auto [wec, written] =
                    co_await net::async_write(x.conn->stream, request, tuple_awaitable);
                if (!wec) {
                    action = policy.on_written(written);
                    break;
                }
                const auto ec = x.conn->stream.translate(wec);
                x.conn.reset();
                action = policy.on_write_failed(written, error_kind(ec), error_text(ec));
                break;
            }
            case forward_step::read_head: {
                const auto read = co_await upstream::read_response_head(
                    x.conn->stream, x.conn->buffer, x.parser,
                    {.head_request = x.req.method() == http::verb::head});
                if (const auto& ec = read.error) {
                    x.conn.reset();
                    action = policy.on_head_failed(error_kind(ec), error_text(ec));
                    break;
                }
                const auto& head = x.parser->get();
                action = policy.on_head(head.result_int(), head.reason());
                if (action.step != forward_step::relay) {
                    x.conn.reset();  // its body is not wanted; the connection is not reused
                }
                break;
            }
            case forward_step::relay: {
                const auto end = co_await relay(client, x, r.pool, record, keep_alive, cfg_);
                keep_alive = end.keep_alive;
                action = relay_event(policy, end);
                break;
            }
            case forward_step::capture:
                if (policy.failure().kind == core::failure_kind::circuit_open) {
                    policy.failure().detail = circuit_open_detail();
                    record.upstream = r.endpoint.name();  // the one the round-robin would take
                }
                co_return result{std::move(policy.failure()), keep_alive};
            case forward_step::overloaded:
                co_return result{std::nullopt, false, true};
            case forward_step::abort:
                record.outcome = request_outcome::aborted;
                co_return result{std::nullopt, false};
            case forward_step::done:
                co_return result{std::nullopt, keep_alive};
        }
    }
}

template <client_stream Stream>
task<forwarder::upgrade_result> forwarder::upgrade(Stream& client,
                                                   beast::flat_buffer& client_buffer,
                                                   const client_request& req,
                                                   std::string_view protocol,
                                                   request_record& record, bool keep_alive,
                                                   std::string& scratch, tunnel_counters& tunnels) {
    using how = upgrade_result::how;
    upgrade_result out;
    std::optional<circuit_guard> guard;
    route* chosen = nullptr;
    for (std::size_t i = 0; i < routes_.size() && chosen == nullptr; ++i) {
        route& r = *routes_[(next_ + i) % routes_.size()];
        const auto ticket = r.endpoint.admit();
        if (ticket.how != admission::refuse) {
            guard.emplace(r.endpoint, ticket);
            chosen = &r;
        }
    }
    next_ = (next_ + 1) % routes_.size();
    if (chosen == nullptr) {
        out.failure =
            upgrade_failure(core::failure_kind::circuit_open, circuit_open_detail(), false);
        co_return out;
    }
    record.upstream = chosen->endpoint.name();
    // A new connection: an upgraded one is never given back, and a pooled one the backend closed
    // meanwhile would fail a request that cannot be tried again once its bytes are out.
    auto acquired = co_await chosen->pool.connect();
    if (acquired.local) {
        warn_overloaded(record, chosen->endpoint, acquired.error);
        out.outcome = how::overloaded;
        co_return out;
    }
    if (acquired.error) {
        out.failure =
            upgrade_failure(core::failure_kind::connect_error, error_text(acquired.error), false);
        guard->report(verdict::failure, *out.failure);
        co_return out;
    }
    exchange x{req, std::move(acquired.connection), std::nullopt, scratch};
    ++x.conn->requests;
    build_request_head(x, chosen->endpoint, record, cfg_.capture, protocol);
    const auto started = std::chrono::steady_clock::now();
    x.conn->stream.expires_after(cfg_.backend.response_timeout);
    const std::array<net::const_buffer, 2> request{net::buffer(x.head), net::buffer(req.body())};
    auto [wec, written] = co_await net::async_write(x.conn->stream, request, tuple_awaitable);
    boost::system::error_code failed = x.conn->stream.translate(wec);
    if (!failed) {
        const auto read =
            co_await upstream::read_response_head(x.conn->stream, x.conn->buffer, x.parser);
        failed = read.error;
    }
    upstream_duration_.observe(std::chrono::steady_clock::now() - started);
    if (failed) {
        const auto kind = failed == beast::error::timeout ? core::failure_kind::timeout
                                                          : core::failure_kind::upstream_reset;
        out.failure = upgrade_failure(kind, error_text(failed), written > 0);
        guard->report(verdict::failure, *out.failure);
        co_return out;
    }
    guard->report(verdict::success, core::failure{});
    if (x.parser->get().result_int() != 101) {
        // The backend answered without switching (426, 400, 401, a 503 of its own...): relayed
        // as any response, never captured.
        const auto end = co_await relay(client, x, chosen->pool, record, keep_alive, cfg_);
        out.outcome = how::declined;
        out.client_keep_alive = end.keep_alive && !end.client_failed && !end.upstream;
        tunnels.declined.fetch_add(1, std::memory_order_relaxed);
        co_return out;
    }
    std::string& head = x.head;
    head.clear();
    if (!build_switching_protocols_head(head, x.parser->get())) {
        out.failure = upgrade_failure(core::failure_kind::upstream_reset,
                                      "101 Switching Protocols without an Upgrade header", true);
        co_return out;
    }
    out.outcome = how::tunneled;
    record.status = 101;
    tunnels.tunneled.fetch_add(1, std::memory_order_relaxed);
    deadline_layer(client).expires_after(cfg_.limits.idle_timeout);
    auto [cec, sent] = co_await net::async_write(client, net::buffer(head), tuple_awaitable);
    record.response_bytes += sent;
    if (cec) {
        co_return out;
    }
    tunnels.open.fetch_add(1, std::memory_order_relaxed);
    const auto end = co_await run_tunnel(client, client_buffer, x.conn->stream, x.conn->buffer,
                                         cfg_.limits.idle_timeout, tunnels);
    tunnels.open.fetch_sub(1, std::memory_order_relaxed);
    record.response_bytes += end.to_client;
    runtime::logger("proxy")->debug(
        "request {}: {} tunnel to {} ended ({}): {} bytes to the backend, {} to the client",
        record.id.view(), protocol, chosen->endpoint.name(), end.ended_by, end.to_backend,
        end.to_client);
    co_return out;
}

template task<forwarder::result> forwarder::forward(netx::timed_socket&, const client_request&,
                                                    request_record&, bool, std::string&);
template task<forwarder::result> forwarder::forward(tls_stream&, const client_request&,
                                                    request_record&, bool, std::string&);
template task<forwarder::upgrade_result> forwarder::upgrade(netx::timed_socket&,
                                                            beast::flat_buffer&,
                                                            const client_request&, std::string_view,
                                                            request_record&, bool, std::string&,
                                                            tunnel_counters&);
template task<forwarder::upgrade_result> forwarder::upgrade(tls_stream&, beast::flat_buffer&,
                                                            const client_request&, std::string_view,
                                                            request_record&, bool, std::string&,
                                                            tunnel_counters&);

}  // namespace spillway::proxy
