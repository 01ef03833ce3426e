#pragma once
// The stream to a backend: plain TCP, or TLS over it for an https:// endpoint. One type for both,
// chosen per connection at run time, so the pool, the forwarder's relay, the tunnel and the
// replay keep one code path (a branch per read or write, next to a syscall). Deadlines stay on
// the timed socket underneath whatever runs over it: the sweeper cancels the socket, and a TLS
// read or write in progress on it completes with operation_aborted, which translate() turns into
// beast::error::timeout as for a plain one.

#include "spillway/net/timed_socket.hpp"

#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <utility>

namespace spillway::upstream {

class backend_stream {
public:
    using executor_type = netx::executor;
    using tls_layer = boost::asio::ssl::stream<netx::timed_socket&>;

    explicit backend_stream(netx::deadline_sweeper& sweeper) : socket_(sweeper) {}
    backend_stream(const backend_stream&) = delete;  // the TLS layer refers to socket_
    backend_stream& operator=(const backend_stream&) = delete;

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    netx::timed_socket& deadline_layer() noexcept { return socket_; }
    netx::tcp_socket& socket() noexcept { return socket_.socket(); }

    // From now on reads and writes go through TLS over the connected socket; the handshake is
    // the caller's (tls_client_context.hpp).
    tls_layer& start_tls(boost::asio::ssl::context& ctx) {
        tls_ = std::make_unique<tls_layer>(socket_, ctx);
        return *tls_;
    }
    tls_layer* tls() noexcept { return tls_.get(); }

    // Both layers complete with (error_code, std::size_t), so both branches return one type.
    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        if (tls_) {
            return tls_->async_read_some(buffers, std::forward<Token>(token));
        }
        return socket_.async_read_some(buffers, std::forward<Token>(token));
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        if (tls_) {
            return tls_->async_write_some(buffers, std::forward<Token>(token));
        }
        return socket_.async_write_some(buffers, std::forward<Token>(token));
    }

    void expires_after(netx::clock::duration d) noexcept { socket_.expires_after(d); }
    void expires_never() noexcept { socket_.expires_never(); }
    boost::system::error_code translate(boost::system::error_code ec) const noexcept {
        return socket_.translate(ec);
    }
    void cancel() noexcept { socket_.cancel(); }

private:
    netx::timed_socket socket_;
    std::unique_ptr<tls_layer> tls_;  // declared after socket_: destroyed before it
};

}  // namespace spillway::upstream
