#include "spillway/proxy/server.hpp"

#include "spillway/net/accept_pause.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <optional>

#include <sys/socket.h>

namespace spillway::proxy {

namespace {

constexpr auto tuple_awaitable = netx::use_task;
constexpr int listen_backlog = 4096;
using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

net::ip::tcp::endpoint resolve_listen(const config::host_port& listen) {
    boost::system::error_code ec;
    auto address = net::ip::make_address(listen.host, ec);
    if (!ec) {
        return {address, listen.port};
    }
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    auto results = resolver.resolve(listen.host, std::to_string(listen.port));  // startup only
    return results.begin()->endpoint();
}

// A worker's event loop. No input may end the process: an exception that escapes a handler
// (one that a connection's own coroutine did not catch, say thrown inside a composed operation)
// ends only the operation it came from, whose connection is destroyed with it; the loop goes on.
void run_worker(net::io_context& ioc, proxy_counters& counters) {
    for (;;) {
        try {
            ioc.run();
            return;
        } catch (...) {
            note_internal_error(counters, std::current_exception(), "worker event loop");
        }
    }
}

// Waits on a condition the workers change, from the (non-I/O) thread that stops the server.
template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

}  // namespace

struct server::worker {
    worker(std::shared_ptr<const snapshot> initial, failure_handler& handler,
           proxy_counters& counters, unsigned index)
        : index(index),
          ioc(1),
          guard(net::make_work_guard(ioc)),
          acceptor(ioc.get_executor()),
          state(ioc.get_executor(), std::move(initial), handler, counters, index) {}

    unsigned index;
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> guard;
    netx::tcp_acceptor acceptor;
    worker_state state;
};

server::server(std::shared_ptr<const config::config> cfg, failure_handler& handler)
    : current_(make_snapshot(std::move(cfg))),
      handler_(handler),
      tls_(current_->cfg->tls.enabled() ? std::make_unique<tls_server_context>(current_->cfg->tls)
                                        : nullptr),
      body_budget_(current_->cfg->limits.max_buffered_bytes) {}

server::server(const config::config& cfg, failure_handler& handler)
    : server(std::make_shared<const config::config>(cfg), handler) {}

server::~server() {
    stop();
}

void server::start() {
    const auto initial = current();
    endpoint_ = resolve_listen(initial->cfg->listen);
    const unsigned n = initial->cfg->worker_threads();
    for (unsigned i = 0; i < n; ++i) {
        auto w = std::make_unique<worker>(initial, handler_, counters_, i);
        w->state.body_budget = &body_budget_;
        w->state.tls = tls_.get();
        w->acceptor.open(endpoint_.protocol());
        w->acceptor.set_option(net::socket_base::reuse_address(true));
        w->acceptor.set_option(reuse_port(true));
        w->acceptor.bind(endpoint_);
        w->acceptor.listen(listen_backlog);
        endpoint_ = w->acceptor.local_endpoint();  // port 0: the others bind the chosen port
        workers_.push_back(std::move(w));
    }
    for (auto& w : workers_) {
        net::co_spawn(w->ioc.get_executor(), w->state.sweeper.run(), net::detached);
        net::co_spawn(w->ioc.get_executor(), accept_loop(*w), [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);  // a bug: let it terminate loudly
            }
        });
        threads_.emplace_back(
            [&ioc = w->ioc, &counters = counters_] { run_worker(ioc, counters); });
    }
}

net::ip::tcp::endpoint server::local_endpoint() const {
    return endpoint_;
}

task<void> server::accept_loop(worker& w) {
    static const auto log = runtime::logger("proxy");
    netx::steady_timer backoff(w.ioc.get_executor());
    netx::accept_pause exhausted;
    for (;;) {
        auto [ec, socket] = co_await w.acceptor.async_accept(tuple_awaitable);
        if (ec == net::error::operation_aborted || !w.acceptor.is_open()) {
            co_return;
        }
        if (netx::is_per_connection_accept_error(ec)) {
            continue;  // that connection's own trouble: take the next one
        }
        if (ec) {  // out of descriptors or memory (or worse): never retried at once
            if (exhausted.on_exhausted()) {
                counters_.accept_pauses.fetch_add(1, std::memory_order_relaxed);
                log->warn(
                    "accept: {} (worker {}): pausing accepts, retrying every {} ms until "
                    "a connection ends; raise the descriptor limit (ulimit -n) or lower "
                    "limits.max_connections",
                    ec.message(), w.index, netx::accept_pause::pause.count());
            }
            backoff.expires_after(netx::accept_pause::pause);
            co_await backoff.async_wait(tuple_awaitable);
            continue;
        }
        if (const auto attempts = exhausted.on_accepted(); attempts > 0) {
            log->warn("accept: resumed (worker {}) after {} paused attempt(s)", w.index, attempts);
        }
        start_session(w, std::move(socket));
    }
}

void server::start_session(worker& w, netx::tcp_socket socket) {
    const auto open = counters_.open_connections.load(std::memory_order_relaxed);
    if (open >= static_cast<std::int64_t>(w.state.cfg().limits.max_connections)) {
        counters_.connections_refused.fetch_add(1, std::memory_order_relaxed);
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
    }
    net::co_spawn(w.ioc.get_executor(), run_session(std::move(socket), w.state),
                  [&counters = counters_](std::exception_ptr e) {
                      if (e) {
                          note_internal_error(counters, e, "session");
                      }
                  });
}

// Closing a listener resets the connections the kernel queued on it and nobody accepted yet.
// Alone, a proxy loses nothing by that (it stops taking connections anyway); beside a new
// process on the same address (SO_REUSEPORT: the kernel spreads connections over both
// processes' listeners) those were clients that would have been served. So accept what is queued
// first, without waiting, and serve it; only the connections that arrive between the last accept
// and the close (microseconds) are still reset, which net.ipv4.tcp_migrate_req = 1 avoids by
// moving them to the new process's listeners (README, "Restarting without downtime").
void server::accept_queued(worker& w) {
    boost::system::error_code ec;
    w.acceptor.non_blocking(true, ec);
    for (int taken = 0; !ec && taken < listen_backlog; ++taken) {
        netx::tcp_socket socket(w.ioc.get_executor());
        w.acceptor.accept(socket, ec);
        if (!ec) {
            start_session(w, std::move(socket));
        } else if (netx::is_per_connection_accept_error(ec)) {
            ec.clear();  // that one went away: the next may be there
        }
    }
}

std::shared_ptr<const snapshot> server::current() const {
    std::lock_guard lock(current_mutex_);
    return current_;
}

void server::reload(std::shared_ptr<const config::config> next) {
    const auto previous = current();
    auto snap = make_snapshot(std::move(next), previous.get());
    body_budget_.set_limit(snap->cfg->limits.max_buffered_bytes);
    {
        std::lock_guard lock(current_mutex_);
        current_ = snap;
    }
    if (stopped_) {
        return;
    }
    for (auto& w : workers_) {
        net::post(w->ioc, [&state = w->state, snap] { state.adopt(snap); });
    }
}

netx::executor server::first_worker_executor() const {
    return workers_.front()->ioc.get_executor();
}

void server::stop() {
    if (stopped_ || workers_.empty()) {
        stopped_ = true;
        return;
    }
    stopped_ = true;
    // Stop accepting, and close connections that wait for a next request.
    for (auto& w : workers_) {
        net::post(w->ioc, [this, &w = *w] {
            w.state.stopping = true;
            accept_queued(w);
            boost::system::error_code ec;
            w.acceptor.close(ec);
            // An idle client may be sending its next request right now: cancelling its read
            // would lose it. It gets a short grace instead; a request that comes is answered
            // with Connection: close, and the client opens its next connection elsewhere.
            for (auto& s : w.state.sessions) {
                if (s.idle) {
                    s.stream->expires_after(stopping_idle_grace);
                }
            }
        });
    }
    // In-flight requests finish, within shutdown_timeout; then the rest are cut off.
    auto drained = [this] { return counters_.open_connections.load() == 0; };
    const auto shutdown_timeout = cfg().shutdown_timeout;
    if (!wait_until(drained, shutdown_timeout)) {
        runtime::logger("proxy")->warn("shutdown: {} connections still open after {} ms, closing",
                                       counters_.open_connections.load(), shutdown_timeout.count());
        for (auto& w : workers_) {
            net::post(w->ioc, [&w = *w] {
                for (auto& s : w.state.sessions) {
                    s.stream->cancel();
                }
            });
        }
        wait_until(drained, std::chrono::milliseconds(2000));
    }
    for (auto& w : workers_) {
        net::post(w->ioc, [&w = *w] {
            w.state.view->forward.close_idle();
            w.state.sweeper.stop();
        });
        w->guard.reset();
    }
    for (auto& t : threads_) {
        t.join();
    }
    threads_.clear();
}

}  // namespace spillway::proxy
