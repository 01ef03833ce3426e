#include "spillway/upstream/pool.hpp"

#include "spillway/core/errors.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/upstream/stale_check.hpp"
#include "spillway/upstream/tls_client_context.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

#include <cerrno>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::upstream {

namespace {

// The pending error of a socket (SO_ERROR), which reading clears; 0 when there is none.
int socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 ? error : errno;
}

// Starts a non-blocking connect and reads its outcome if the kernel already knows it. A connect
// to a port with nothing listening (a backend that is down, the very case Spillway exists for)
// has its RST processed before connect() returns on loopback and usually on a LAN, so SO_ERROR
// already says "refused": the attempt then costs four syscalls and never touches the reactor,
// where Asio's async_connect registers the socket with epoll, waits a reactor round trip for
// the error and deregisters (eight syscalls, and about a fifth of the failure path's time).
// Returns the socket when it is connected or still connecting; otherwise the error.
struct connect_start {
    int fd = -1;
    int error = 0;
    bool local = false;  // socket() itself failed: the proxy's shortage, nothing reached out
};

connect_start start_connect(const net::ip::tcp::endpoint& endpoint) {
    const int fd = ::socket(endpoint.protocol().family(),
                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        return {-1, errno, true};
    }
    if (::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) == 0) {
        return {fd, 0};
    }
    int error = errno;
    if (error == EINPROGRESS) {
        error = socket_error(fd);
        if (error == 0) {
            return {fd, 0};  // still connecting: the reactor will say when it is done
        }
    }
    ::close(fd);
    return {-1, error};
}

void close_socket(connection& c) {
    boost::system::error_code ignored;
    c.stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    c.stream.socket().close(ignored);
}

}  // namespace

connection_pool::connection_pool(netx::deadline_sweeper& sweeper, const config::backend_config& cfg,
                                 const config::host_port& address, pool_gauges& gauges)
    : connection_pool(sweeper, cfg, address, gauges, cfg.pool_max_idle) {}

connection_pool::connection_pool(netx::deadline_sweeper& sweeper, const config::backend_config& cfg,
                                 const config::host_port& address, pool_gauges& gauges,
                                 std::size_t max_idle)
    : sweeper_(sweeper),
      cfg_(cfg),
      max_idle_(max_idle),
      gauges_(gauges),
      address_(address),
      dns_(address),
      tls_(address.tls),
      tls_peer_name_(tls_peer_name(cfg, address)) {
    if (!tls_) {
        return;
    }
    try {
        tls_context_ = shared_tls_client_context(cfg.tls);
    } catch (const std::exception& e) {
        // Made at start already (prepare_backend_tls), so only a reload can get here.
        runtime::logger("upstream")->error("backend {}: no TLS: {}", address.to_string(), e.what());
    }
}

task<acquire_result> connection_pool::acquire() {
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
        connection_ptr c = std::move(idle_.back());
        idle_.pop_back();
        publish_idle();
        if (now - c->idle_since >= cfg_.pool_idle_timeout || is_stale(c->stream, c->buffer)) {
            continue;  // closed as it goes out of scope
        }
        co_return acquire_result{{}, std::move(c)};
    }
    co_return co_await connect();
}

task<acquire_result> connection_pool::connect() {
    if (closed_) {
        co_return acquire_result{net::error::operation_aborted, nullptr};
    }
    const auto resolved = co_await dns_.resolve(sweeper_.get_executor());
    if (resolved) {
        pool_gauges::bump(gauges_.connect_errors);
        co_return acquire_result{resolved, nullptr};
    }
    // Each resolved address in turn, within one connect_timeout for them all.
    const auto deadline = std::chrono::steady_clock::now() + cfg_.connect_timeout;
    boost::system::error_code ec = net::error::host_not_found;
    for (const auto& endpoint : dns_.endpoints()) {
        const auto left = deadline - std::chrono::steady_clock::now();
        if (closed_) {
            ec = net::error::operation_aborted;
            break;
        }
        if (left <= std::chrono::steady_clock::duration::zero()) {
            ec = core::errc::connect_timeout;
            break;
        }
        const connect_start started = start_connect(endpoint);
        if (started.local) {
            // No descriptor (or memory) for a socket: the proxy's trouble, never the backend's
            // (no connect error counted, no circuit verdict), and no other address can do better.
            co_return acquire_result{
                {started.error, boost::system::system_category()}, nullptr, true};
        }
        if (started.fd < 0) {
            ec.assign(started.error, boost::system::system_category());
            continue;
        }
        pool_gauges::add(gauges_.open, 1);  // until the connection is destroyed, however it ends
        auto c = std::make_unique<connection>(sweeper_, gauges_);
        connections_.push_back(*c);
        c->stream.socket().assign(endpoint.protocol(), started.fd, ec);
        if (ec) {
            ::close(started.fd);  // the reactor could not take it (epoll out of memory): local too
            co_return acquire_result{ec, nullptr, true};
        }
        c->stream.expires_after(left);
        auto [wec] =
            co_await c->stream.socket().async_wait(net::socket_base::wait_write, netx::use_task);
        ec = c->stream.translate(wec);
        if (ec == beast::error::timeout) {
            ec = core::errc::connect_timeout;
            break;
        }
        if (!ec) {
            if (const int error = socket_error(c->stream.socket().native_handle()); error != 0) {
                ec.assign(error, boost::system::system_category());
            }
        }
        if (ec) {
            continue;
        }
        c->stream.socket().set_option(net::ip::tcp::no_delay(true), ec);
        if (tls_) {
            // A certificate rejected here is rejected at every address: no next one.
            ec = co_await secure(*c);
            if (ec) {
                break;
            }
        }
        pool_gauges::bump(gauges_.connects);
        co_return acquire_result{{}, std::move(c)};
    }
    pool_gauges::bump(gauges_.connect_errors);
    co_return acquire_result{ec, nullptr};
}

// The TLS handshake, under the connect deadline still set on the socket. Each failure is counted
// and logged (at most once a second per pool: a wrong CA fails every request) with OpenSSL's
// reason; the request's own log line and capture carry it too.
task<boost::system::error_code> connection_pool::secure(connection& c) {
    boost::system::error_code ec = core::errc::tls_unavailable;
    if (tls_context_) {
        ec = co_await tls_handshake(c.stream, *tls_context_, tls_peer_name_, address_.to_string());
    }
    if (ec) {
        pool_gauges::bump(gauges_.tls_handshake_errors);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_tls_warning_ >= std::chrono::seconds(1)) {
            last_tls_warning_ = now;
            runtime::logger("upstream")
                ->warn("backend {}: TLS handshake failed (peer name {}): {}", address_.to_string(),
                       tls_peer_name_, ec.message());
        }
    }
    co_return ec;
}

void connection_pool::release(connection_ptr connection) {
    if (closed_ || idle_.size() >= max_idle_ || connection->buffer.size() != 0) {
        return;  // this connection closes as it goes out of scope
    }
    connection->stream.expires_never();
    connection->idle_since = std::chrono::steady_clock::now();
    idle_.push_back(std::move(connection));
    publish_idle();
}

void connection_pool::close_idle() {
    idle_.clear();
    publish_idle();
}

void connection_pool::retire() {
    max_idle_ = 0;
    close_idle();
}

void connection_pool::close() {
    closed_ = true;
    close_idle();
    for (auto& c : connections_) {
        close_socket(c);
    }
}

}  // namespace spillway::upstream
