#include "spillway/proxy/tunnel.hpp"

#include "spillway/proxy/tls_stream.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include <array>

namespace spillway::proxy {

namespace {

// Per read: a WebSocket message of up to this size moves in one read and one write.
constexpr std::size_t tunnel_chunk_bytes = 16 * 1024;

struct tunnel_sides {
    netx::timed_socket& client;  // the client stream's deadline layer
    netx::timed_socket& backend;
    std::chrono::milliseconds idle;

    // Either direction's progress keeps both alive: a WebSocket that only ever sends one way
    // (a feed, with the other side silent) is not idle.
    void touch() {
        client.expires_after(idle);
        backend.expires_after(idle);
    }
};

// One direction of the tunnel: where its bytes come from and go, and its tallies.
struct direction {
    netx::timed_socket& in_layer;
    netx::timed_socket& out_layer;
    beast::flat_buffer& pending;  // read before the tunnel began: sent first
    std::atomic<std::uint64_t>& counted;  // the metric
    std::uint64_t& moved;  // this tunnel's
    bool from_client;
};

// Whether a TCP half-close can pass a close on (under TLS it would read as a truncation).
bool is_plain(netx::timed_socket&) {
    return true;
}
bool is_plain(tls_stream&) {
    return false;
}
bool is_plain(upstream::backend_stream& s) {
    return s.tls() == nullptr;
}

// Copies `in` to `out` until `in` ends or fails, or writing fails; returns why it ended.
// Cancelled (operation_aborted) when the other direction ended first.
template <class In, class Out>
netx::task<std::string_view> pump(In& in, Out& out, direction d, tunnel_sides& sides) {
    const auto count = [&d](std::size_t n) {
        d.moved += n;
        d.counted.fetch_add(n, std::memory_order_relaxed);
    };
    if (d.pending.size() > 0) {
        auto [ec, n] = co_await net::async_write(out, d.pending.data(), netx::use_task);
        d.pending.consume(n);
        count(n);
        if (ec) {
            co_return "write failed";
        }
        sides.touch();
    }
    std::array<char, tunnel_chunk_bytes> chunk;
    for (;;) {
        auto [rec, n] = co_await in.async_read_some(net::buffer(chunk), netx::use_task);
        if (rec) {
            const auto ec = d.in_layer.translate(rec);
            // A TLS peer that closes without close_notify (most browsers) has closed all the same.
            if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
                // Pass the close on: the other side reads its end of stream after every byte.
                // A TLS client is told by close_notify, which the session sends as soon as the
                // tunnel has ended (a TCP half-close under TLS would read as a truncation).
                if (is_plain(out)) {
                    boost::system::error_code ignored;
                    d.out_layer.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
                }
                co_return d.from_client ? "client closed" : "backend closed";
            }
            if (ec == beast::error::timeout) {
                co_return "idle";
            }
            if (ec == net::error::operation_aborted) {
                co_return "cut off";  // the proxy's shutdown
            }
            co_return d.from_client ? "client failed" : "backend failed";
        }
        sides.touch();
        auto [wec, written] =
            co_await net::async_write(out, net::buffer(chunk.data(), n), netx::use_task);
        count(written);
        if (wec) {
            co_return d.out_layer.translate(wec) == beast::error::timeout ? "idle" : "write failed";
        }
        sides.touch();
    }
}

}  // namespace

template <client_stream Stream>
netx::task<tunnel_end> run_tunnel(Stream& client, beast::flat_buffer& from_client,
                                  upstream::backend_stream& backend,
                                  beast::flat_buffer& from_backend, std::chrono::milliseconds idle,
                                  tunnel_counters& counters) {
    using namespace net::experimental::awaitable_operators;
    tunnel_sides sides{deadline_layer(client), backend.deadline_layer(), idle};
    sides.touch();
    // The first direction to end cancels the other (the || operator), so a tunnel never waits
    // for a side that is gone.
    tunnel_end end;
    const direction up{sides.client,   sides.backend, from_client, counters.bytes_to_backend,
                       end.to_backend, true};
    const direction down{sides.backend, sides.client, from_backend, counters.bytes_to_client,
                         end.to_client, false};
    auto ended = co_await (pump(client, backend, up, sides) || pump(backend, client, down, sides));
    end.ended_by = ended.index() == 0 ? std::get<0>(ended) : std::get<1>(ended);
    sides.client.expires_never();
    sides.backend.expires_never();
    co_return end;
}

template netx::task<tunnel_end> run_tunnel(netx::timed_socket&, beast::flat_buffer&,
                                           upstream::backend_stream&, beast::flat_buffer&,
                                           std::chrono::milliseconds, tunnel_counters&);
template netx::task<tunnel_end> run_tunnel(tls_stream&, beast::flat_buffer&,
                                           upstream::backend_stream&, beast::flat_buffer&,
                                           std::chrono::milliseconds, tunnel_counters&);

}  // namespace spillway::proxy
