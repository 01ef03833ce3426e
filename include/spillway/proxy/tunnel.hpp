#pragma once
// The bytes of an upgraded connection (WebSocket, after the backend's 101), copied both ways
// between the client and the backend until either side closes, fails, or nothing moved in either
// direction for the idle timeout. Never captured: a tunnel's bytes are not a request.

#include "spillway/net/timed_socket.hpp"
#include "spillway/proxy/client_stream.hpp"
#include "spillway/upstream/backend_stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace spillway::proxy {

// For /metrics (proxy_metrics.cpp): relaxed atomics, shared by every worker.
struct tunnel_counters {
    std::atomic<std::uint64_t> tunneled{0};  // the backend answered 101: a tunnel opened
    std::atomic<std::uint64_t> declined{0};  // the backend answered without switching
    std::atomic<std::uint64_t> failed{0};  // the backend could not be reached: 502
    std::atomic<std::int64_t> open{0};
    std::atomic<std::uint64_t> bytes_to_backend{0};
    std::atomic<std::uint64_t> bytes_to_client{0};
};

struct tunnel_end {
    std::uint64_t to_backend = 0;
    std::uint64_t to_client = 0;
    std::string_view ended_by;  // what ended it, for the log: "client closed", "idle", ...
};

// Runs the tunnel to its end. `from_client` and `from_backend` hold bytes already read past the
// request and the 101 head (a client may send its first frames right behind its request): they go
// first. Each byte moved re-arms both sides' deadlines to `idle`. Ends both directions when one
// ends: the other side's sending half is shut down first, so a close is passed on, not cut.
// Instantiated in tunnel.cpp for each client stream.
template <client_stream Stream>
netx::task<tunnel_end> run_tunnel(Stream& client, boost::beast::flat_buffer& from_client,
                                  upstream::backend_stream& backend,
                                  boost::beast::flat_buffer& from_backend,
                                  std::chrono::milliseconds idle, tunnel_counters& counters);

extern template netx::task<tunnel_end> run_tunnel(netx::timed_socket&, boost::beast::flat_buffer&,
                                                  upstream::backend_stream&,
                                                  boost::beast::flat_buffer&,
                                                  std::chrono::milliseconds, tunnel_counters&);

}  // namespace spillway::proxy
