#include "spillway/proxy/session.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/http/body_budget.hpp"
#include "spillway/http/hop_by_hop.hpp"
#include "spillway/http/request_parser.hpp"
#include "spillway/http/request_reader.hpp"
#include "spillway/http/request_rules.hpp"
#include "spillway/http/upgrade.hpp"
#include "spillway/proxy/message_heads.hpp"
#include "spillway/proxy/rate_limiter.hpp"
#include "spillway/proxy/response_writer.hpp"
#include "spillway/proxy/tls_stream.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <utility>

namespace spillway::proxy {

namespace {

constexpr auto tuple_awaitable = netx::use_task;
constexpr std::size_t first_read_bytes = 2048;

using request_parser = http_util::request_parser;

// Unlinks the session from its worker's list however the coroutine ends.
struct session_registration {
    session_registration(worker_state& w, session_handle& h) : worker(w), handle(h) {
        worker.sessions.push_back(handle);
        worker.counters.open_connections.fetch_add(1, std::memory_order_relaxed);
    }
    ~session_registration() {
        worker.sessions.erase(worker.sessions.iterator_to(handle));
        worker.counters.open_connections.fetch_sub(1, std::memory_order_relaxed);
    }
    worker_state& worker;
    session_handle& handle;
};

// Writes a response of the proxy's own; `scratch` holds its head.
template <client_stream Stream>
task<void> write_response(Stream& stream, const client_response& res, request_record& record,
                          const config::config& cfg, std::string& scratch) {
    record.status = res.result_int();
    deadline_layer(stream).expires_after(cfg.limits.idle_timeout);
    response_writer writer(scratch);
    writer.start_local(res);
    const auto piece = writer.next(res.body().data(), res.body().size(), true);
    auto [ec, n] = co_await net::async_write(stream, piece.buffers(), tuple_awaitable);
    record.response_bytes = n;
}

// The answer to a request the proxy refuses (malformed, too large): the connection closes after.
template <client_stream Stream>
task<void> reject(Stream& stream, const http_util::rejection& refused, request_record& record,
                  worker_state& w, const worker_view& v, std::string& scratch) {
    record.outcome = request_outcome::rejected;
    w.counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    auto res = make_json_response(refused.status, http_util::rejection_body(refused), 11, false);
    co_await write_response(stream, res, record, v.cfg, scratch);
}

// A request whose body the proxy cannot hold now (limits.max_buffered_bytes): 503 with
// Retry-After, not captured (nothing of it was read), and the connection closes.
template <client_stream Stream>
task<void> reject_overloaded(Stream& stream, request_record& record, worker_state& w,
                             const worker_view& v, std::string& scratch) {
    record.outcome = request_outcome::rejected;
    record.overloaded = true;
    w.counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    w.counters.overloaded.fetch_add(1, std::memory_order_relaxed);
    co_await write_response(stream, overloaded_response(record.id.view(), 11), record, v.cfg,
                            scratch);
}

// The answer when the proxy itself failed inside a request and nothing was answered yet.
template <client_stream Stream>
task<void> answer_internal_error(Stream& stream, request_record& record, const worker_view& v,
                                 std::string& scratch) {
    record.outcome = request_outcome::rejected;
    auto res = make_json_response(http::status::internal_server_error,
                                  R"({"error":"internal_error"})", 11, false);
    co_await write_response(stream, res, record, v.cfg, scratch);
}

bool expects_continue(const request_parser& parser) {
    const auto& req = parser.get();
    auto it = req.find(http::field::expect);
    return req.version() >= 11 && it != req.end() &&
           http_util::iequals(it->value(), "100-continue");
}

void note_head(const request_parser& parser, request_record& record) {
    const auto& req = parser.get();
    record.method = req.method_string();
    record.target = req.target();
    record.http_version = req.version();
}

// Reads one whole request: the head, the checks of request_rules.hpp (which may put the target in
// origin-form), then the body within the buffered-bytes budget. Returns false when the
// connection must close (after any answer).
template <client_stream Stream>
task<bool> read_request(Stream& stream, beast::flat_buffer& buffer, request_parser& parser,
                        http_util::body_lease& lease, request_record& record, worker_state& w,
                        const worker_view& v, std::string& scratch) {
    const auto& limits = v.cfg.limits;
    auto& deadline = deadline_layer(stream);
    parser.limit_header_bytes(limits.max_header_bytes);
    parser.body_limit(v.cfg.capture.max_body_bytes);
    auto ec = co_await http_util::read_request_head(stream, deadline, buffer, parser,
                                                    limits.header_timeout);
    if (parser.is_header_done()) {  // also when the declared body is already too large
        note_head(parser, record);
    }
    if (!ec) {
        if (auto refused = http_util::check_request_head(parser)) {
            deadline.expires_never();
            co_await reject(stream, *refused, record, w, v, scratch);
            co_return false;
        }
        note_head(parser, record);  // the target may be in origin-form now
        const auto declared = parser.content_length();
        if (!lease.hold(declared ? *declared : 0)) {
            deadline.expires_never();
            co_await reject_overloaded(stream, record, w, v, scratch);
            co_return false;
        }
        if (!parser.is_done() && expects_continue(parser)) {
            static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
            deadline.expires_after(limits.body_timeout);
            auto [wec, wn] =
                co_await net::async_write(stream, net::buffer(continue_line), tuple_awaitable);
            ec = wec;
        }
        if (!ec && !parser.is_done()) {
            const auto body = co_await http_util::read_request_body(
                stream, deadline, buffer, parser, limits.body_timeout,
                [&lease](std::uint64_t bytes) { return lease.hold(bytes); });
            if (body.overloaded) {
                deadline.expires_never();
                co_await reject_overloaded(stream, record, w, v, scratch);
                co_return false;
            }
            ec = body.error;
        }
    }
    deadline.expires_never();  // the forward phase has its own deadlines
    if (!ec) {
        // Taken once the message is whole (trailers are dropped, so the list no longer moves).
        record.header_order = {parser.arrival_order().data(), parser.arrival_order().size()};
        co_return true;
    }
    if (auto refused = http_util::rejection_for(ec)) {
        co_await reject(stream, *refused, record, w, v, scratch);
    } else if (!record.method.empty() || ec == http::error::partial_message ||
               ec == beast::error::timeout) {
        // Timed out (slowloris) or went away mid-request: close without an answer.
        record.outcome = request_outcome::rejected;
        w.counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    }
    co_return false;
}

bool is_health_check(const client_request& req, const config::config& cfg) {
    return !cfg.health_path.empty() && req.target() == cfg.health_path &&
           (req.method() == http::verb::get || req.method() == http::verb::head);
}

// A client over its rate limit gets 429 before anything is forwarded or captured. Its request
// was read whole, so the connection can stay open.
template <client_stream Stream>
task<void> answer_rate_limited(Stream& stream, const client_request& req, request_record& record,
                               worker_state& w, const worker_view& v, rate_decision decision,
                               bool keep_alive, std::string& scratch) {
    record.outcome = request_outcome::rejected;
    record.rate_limited = true;
    w.counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    w.counters.rate_limited.fetch_add(1, std::memory_order_relaxed);
    auto res =
        rate_limited_response(decision.retry_after, record.id.view(), req.version(), keep_alive);
    co_await write_response(stream, res, record, v.cfg, scratch);
}

// The proxy ran out of descriptors (or memory) for the backend connection: 503 overloaded, not
// captured (it is not the backend's failure), and the connection closes, giving a descriptor back.
template <client_stream Stream>
task<void> answer_overloaded(Stream& stream, const client_request& req, request_record& record,
                             worker_state& w, const worker_view& v, std::string& scratch) {
    record.outcome = request_outcome::rejected;
    record.overloaded = true;
    w.counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    w.counters.overloaded.fetch_add(1, std::memory_order_relaxed);
    co_await write_response(stream, overloaded_response(record.id.view(), req.version()), record,
                            v.cfg, scratch);
}

// A request that asks to switch protocols (WebSocket): forwarded, and tunneled after the
// backend's 101; never captured. Returns whether the connection stays open (only when the
// backend answered without switching).
template <client_stream Stream>
task<bool> answer_upgrade(Stream& stream, beast::flat_buffer& buffer, const client_request& req,
                          std::string_view protocol, request_record& record, worker_state& w,
                          worker_view& v, bool keep_alive, std::string& scratch) {
    using how = forwarder::upgrade_result::how;
    auto upgraded = co_await v.forward.upgrade(stream, buffer, req, protocol, record, keep_alive,
                                               scratch, w.counters.tunnels);
    switch (upgraded.outcome) {
        case how::tunneled:
        case how::declined:
            w.counters.requests_proxied.fetch_add(1, std::memory_order_relaxed);
            co_return upgraded.client_keep_alive;
        case how::overloaded:
            co_await answer_overloaded(stream, req, record, w, v, scratch);
            co_return false;
        case how::failed:
            break;
    }
    // An upgrade cannot be stored and replayed: the client learns at once that it failed.
    w.counters.tunnels.failed.fetch_add(1, std::memory_order_relaxed);
    w.counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    record.outcome = request_outcome::rejected;
    runtime::logger("proxy")->warn(
        "request {}: upgrade to {} failed, answered 502: {}: {}", record.id.view(), protocol,
        core::to_string(upgraded.failure->kind), upgraded.failure->detail);
    record.failure = std::move(upgraded.failure);
    auto res = make_json_response(http::status::bad_gateway, R"({"error":"upgrade_failed"})",
                                  req.version(), false);
    co_await write_response(stream, res, record, v.cfg, scratch);
    co_return false;
}

// Answers one request that was read whole, under the view `v` it started with. Returns whether
// the connection stays open.
template <client_stream Stream>
task<bool> answer(Stream& stream, beast::flat_buffer& buffer, const client_request& req,
                  request_record& record, worker_state& w, worker_view& v, std::string& scratch) {
    bool keep_alive = req.keep_alive() && !w.stopping;
    if (is_health_check(req, v.cfg)) {
        record.outcome = request_outcome::local;
        w.counters.requests_local.fetch_add(1, std::memory_order_relaxed);
        auto res =
            make_json_response(http::status::ok, R"({"status":"ok"})", req.version(), keep_alive);
        if (req.method() == http::verb::head) {
            res.body().clear();
            res.content_length(15);
        }
        co_await write_response(stream, res, record, v.cfg, scratch);
        co_return keep_alive;
    }
    // The health check above is never limited: health checkers must not be throttled.
    record.trace = trace_context::from_request(req);
    if (const auto& limiter = v.snap->rate_limit) {
        const auto decision = limiter->admit(req, record.client_ip, rate_clock::now());
        if (!decision.allowed) {
            co_await answer_rate_limited(stream, req, record, w, v, decision, keep_alive, scratch);
            co_return keep_alive;
        }
    }
    record.trace.generate_if_absent();
    if (const auto protocol = http_util::requested_upgrade(req)) {
        co_return co_await answer_upgrade(stream, buffer, req, *protocol, record, w, v, keep_alive,
                                          scratch);
    }
    auto forwarded = co_await v.forward.forward(stream, req, record, keep_alive, scratch);
    if (forwarded.overloaded) {
        co_await answer_overloaded(stream, req, record, w, v, scratch);
        co_return false;
    }
    if (!forwarded.failure) {
        auto& counter = record.outcome == request_outcome::proxied ? w.counters.requests_proxied
                                                                   : w.counters.requests_aborted;
        counter.fetch_add(1, std::memory_order_relaxed);
        co_return forwarded.client_keep_alive;
    }
    record.failure = std::move(forwarded.failure);
    record.outcome = request_outcome::captured;
    w.counters.requests_captured.fetch_add(1, std::memory_order_relaxed);
    auto res = co_await w.on_failure.handle(req, *record.failure, record, v.cfg.capture);
    res.keep_alive(keep_alive);
    co_await write_response(stream, res, record, v.cfg, scratch);
    co_return keep_alive;
}

// Waits for the first bytes of the next request; false when the connection is done.
template <client_stream Stream>
task<bool> await_request(Stream& stream, beast::flat_buffer& buffer,
                         std::chrono::milliseconds timeout) {
    if (buffer.size() > 0) {
        co_return true;  // a pipelined request is already here
    }
    deadline_layer(stream).expires_after(timeout);
    auto [ec, n] =
        co_await stream.async_read_some(buffer.prepare(first_read_bytes), tuple_awaitable);
    buffer.commit(n);
    co_return !ec;
}

// The request loop over one connection: its phases in order, while the connection is kept
// alive. Pipelined requests are answered in order: the next is read only after this answer.
template <client_stream Stream>
task<void> serve(Stream& stream, session_handle& handle, std::string_view client_ip,
                 std::string_view scheme, worker_state& w) {
    // Sized once per connection: a larger limits.max_header_bytes applies to new connections.
    auto buffer = http_util::read_buffer(w.cfg().limits.max_header_bytes);
    std::string scratch;
    for (bool first = true;; first = false) {
        handle.idle = true;
        auto wait = first ? w.cfg().limits.header_timeout : w.cfg().limits.idle_timeout;
        if (w.stopping) {
            // The last answer may have promised keep-alive before the stop: the client may be
            // sending its next request already. It gets a short grace, and the answer closes.
            wait = std::min(wait, stopping_idle_grace);
        }
        // (co_await in a condition miscompiles with GCC 12: keep the result in a local.)
        const bool arrived = co_await await_request(stream, buffer, wait);
        if (!arrived) {
            break;
        }
        handle.idle = false;
        // The request's configuration until it ends, whatever a reload does meanwhile.
        const std::shared_ptr<worker_view> view = w.view;
        request_record record;
        record.client_ip = client_ip;
        record.scheme = scheme;
        request_parser parser;
        http_util::body_lease lease(w.body_budget);
        bool keep_alive = false;
        bool failed = false;
        try {
            keep_alive =
                co_await read_request(stream, buffer, parser, lease, record, w, *view, scratch);
            if (keep_alive) {
                keep_alive =
                    co_await answer(stream, buffer, parser.get(), record, w, *view, scratch);
            }
        } catch (...) {
            // A bug of ours, not the client's: this connection ends, no other is touched.
            note_internal_error(w.counters, std::current_exception(),
                                "request " + std::string(record.id.view()));
            failed = true;
        }
        if (failed) {
            keep_alive = false;
            if (record.status == 0) {
                co_await answer_internal_error(stream, record, *view, scratch);
            }
        }
        if (record.status != 0 || !record.method.empty()) {
            write_access_log(record);
        }
        if (!keep_alive) {
            break;
        }
    }
}

// Bounds the wait for the client's close_notify after ours (a client that never answers it).
constexpr std::chrono::milliseconds tls_close_timeout{1000};

void note_handshake_failure(worker_state& w, const boost::system::error_code& ec,
                            std::string_view client_ip) {
    const auto reason = classify_handshake_error(ec);
    w.counters.tls_handshake_errors[static_cast<std::size_t>(reason)].fetch_add(
        1, std::memory_order_relaxed);
    static const auto log = runtime::logger("proxy");
    log->debug("TLS handshake with {} failed ({}): {}", client_ip,
               tls_handshake_failure_names[static_cast<std::size_t>(reason)], ec.message());
}

// The TLS listener: the handshake, bounded like a request's head (limits.header_timeout_ms), then
// the same phases over the ssl stream, then close_notify. The context is the one current at the
// handshake, held for the connection's life (a reload serves new connections only).
task<void> serve_tls(netx::timed_socket& socket, session_handle& handle, std::string_view client_ip,
                     worker_state& w) {
    const auto context = w.tls->current();
    tls_stream stream(socket, *context);
    socket.expires_after(w.cfg().limits.header_timeout);
    auto [ec] = co_await stream.async_handshake(tls_stream::server, tuple_awaitable);
    ec = socket.translate(ec);
    socket.expires_never();
    if (ec) {
        note_handshake_failure(w, ec, client_ip);
        co_return;
    }
    w.counters.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
    co_await serve(stream, handle, client_ip, "https", w);
    socket.expires_after(tls_close_timeout);
    auto [closed] = co_await stream.async_shutdown(tuple_awaitable);
    socket.expires_never();
}

}  // namespace

namespace {

// Fine enough for the shortest timeout of `cfg` (timed_socket.hpp).
std::chrono::milliseconds sweep_resolution(const config::config& cfg) {
    return netx::deadline_sweeper::resolution_for(
        std::min({cfg.limits.header_timeout, cfg.limits.idle_timeout, cfg.limits.body_timeout,
                  cfg.backend.connect_timeout, cfg.backend.response_timeout}));
}

}  // namespace

worker_view::worker_view(std::shared_ptr<const snapshot> s, netx::deadline_sweeper& sweeper,
                         unsigned worker, metrics::histogram& upstream_duration)
    : snap(std::move(s)),
      cfg(*snap->cfg),
      forward(sweeper, snap->endpoints, worker, cfg, upstream_duration) {}

worker_state::worker_state(netx::executor ex, std::shared_ptr<const snapshot> initial,
                           failure_handler& handler, proxy_counters& counters, unsigned worker)
    : index(worker),
      sweeper(ex, sweep_resolution(*initial->cfg)),
      on_failure(handler),
      counters(counters),
      view(std::make_shared<worker_view>(std::move(initial), sweeper, worker,
                                         counters.upstream_duration)) {}

void worker_state::adopt(std::shared_ptr<const snapshot> next) {
    sweeper.set_resolution(sweep_resolution(*next->cfg));
    auto previous = std::exchange(
        view,
        std::make_shared<worker_view>(std::move(next), sweeper, index, counters.upstream_duration));
    previous->forward.retire();
}

void note_internal_error(proxy_counters& counters, std::exception_ptr error,
                         std::string_view where) {
    counters.internal_errors.fetch_add(1, std::memory_order_relaxed);
    std::string what = "unknown exception";
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
    }
    runtime::logger("proxy")->error("internal error in {}: {}", where, what);
}

task<void> run_session(netx::tcp_socket socket, worker_state& w) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    const std::string client_ip = ec ? std::string("unknown") : peer.address().to_string();
    socket.set_option(net::ip::tcp::no_delay(true), ec);

    netx::timed_socket stream(std::move(socket), w.sweeper);
    session_handle handle;
    handle.stream = &stream;
    session_registration registration(w, handle);
    if (w.tls == nullptr) {
        co_await serve(stream, handle, client_ip, http_util::default_scheme, w);
    } else {
        co_await serve_tls(stream, handle, client_ip, w);
    }
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace spillway::proxy
