#include "spillway/upstream/pool.hpp"

#include "spillway/core/errors.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

#include <cerrno>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::upstream {

namespace {


// Names are resolved again after this long, so a backend that moves (DNS) is followed.
constexpr std::chrono::seconds resolve_ttl{10};

// Whether the backend closed (or reset) this idle connection: a non-blocking peek finds EOF or an
// error, or bytes nobody asked for. Costs one syscall and spares a request a dead connection.
bool closed_by_peer(connection& c) {
    if (c.buffer.size() != 0) {
        return true;  // unsolicited bytes: the connection is out of step
    }
    char probe;
    ssize_t n = ::recv(c.stream.socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

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
};

connect_start start_connect(const net::ip::tcp::endpoint& endpoint) {
    const int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            IPPROTO_TCP);
    if (fd < 0) {
        return {-1, errno};
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

}  // namespace

connection_pool::connection_pool(netx::deadline_sweeper& sweeper, const config::backend_config& cfg,
                             const config::host_port& address, pool_gauges& gauges)
    : sweeper_(sweeper), cfg_(cfg), address_(address), gauges_(gauges) {}

task<boost::system::error_code> connection_pool::resolve() {
    const auto now = std::chrono::steady_clock::now();
    if (!endpoints_.empty() && (address_is_literal_ || now - resolved_at_ < resolve_ttl)) {
        co_return boost::system::error_code{};
    }
    boost::system::error_code ec;
    auto address = net::ip::make_address(address_.host, ec);
    if (!ec) {
        endpoints_ = {net::ip::tcp::endpoint(address, address_.port)};
        address_is_literal_ = true;
        co_return ec;
    }
    net::ip::basic_resolver<net::ip::tcp, netx::executor> resolver(sweeper_.get_executor());
    auto [rec, results] = co_await resolver.async_resolve(
        address_.host, std::to_string(address_.port), netx::use_task);
    if (rec) {
        co_return rec;
    }
    endpoints_.clear();
    for (const auto& r : results) {
        endpoints_.push_back(r.endpoint());
    }
    resolved_at_ = now;
    co_return boost::system::error_code{};
}

task<acquire_result> connection_pool::acquire() {
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
        connection_ptr c = std::move(idle_.back());
        idle_.pop_back();
        publish_idle();
        if (now - c->idle_since >= cfg_.pool_idle_timeout || closed_by_peer(*c)) {
            continue;
        }
        co_return acquire_result{{}, std::move(c)};
    }
    co_return co_await connect();
}

task<acquire_result> connection_pool::connect() {
    const auto resolved = co_await resolve();
    if (resolved) {
        pool_gauges::bump(gauges_.connect_errors);
        co_return acquire_result{resolved, nullptr};
    }
    // Each resolved address in turn, within one connect_timeout for them all.
    const auto deadline = std::chrono::steady_clock::now() + cfg_.connect_timeout;
    boost::system::error_code ec = net::error::host_not_found;
    for (const auto& endpoint : endpoints_) {
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
            ec = core::errc::connect_timeout;
            break;
        }
        const connect_start started = start_connect(endpoint);
        if (started.fd < 0) {
            ec.assign(started.error, boost::system::system_category());
            continue;
        }
        pool_gauges::add(gauges_.open, 1);  // until the connection is destroyed, however it ends
        auto c = std::make_unique<connection>(sweeper_, gauges_);
        c->stream.socket().assign(endpoint.protocol(), started.fd, ec);
        if (ec) {
            ::close(started.fd);
            continue;
        }
        c->stream.expires_after(left);
        auto [wec] = co_await c->stream.socket().async_wait(net::socket_base::wait_write,
                                                            netx::use_task);
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
        pool_gauges::bump(gauges_.connects);
        co_return acquire_result{{}, std::move(c)};
    }
    pool_gauges::bump(gauges_.connect_errors);
    co_return acquire_result{ec, nullptr};
}

void connection_pool::release(connection_ptr connection) {
    if (idle_.size() >= cfg_.pool_max_idle) {
        return;  // the pool is full: this connection closes as it goes out of scope
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

}  // namespace spillway::upstream
