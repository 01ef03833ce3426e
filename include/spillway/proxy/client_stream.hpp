#pragma once
// The stream seam. The request phases (session.cpp: await, read, answer; forwarder.cpp: forward,
// relay) are function templates over the client's stream, defined in their .cpp files and
// instantiated there for each stream the listener can hand them; today only the plain
// netx::timed_socket. TLS adds an instantiation for an ssl_stream over the timed socket (and the
// handshake in run_session) and changes no phase.
//
// A stream reads and writes like an Asio stream, and deadline_layer() finds the timed socket
// under it: deadlines (expires_after, translate) and the worker's deadline sweeper work on that
// lowest layer, whatever is stacked on it. Templates rather than a stream class with virtual
// reads and writes: a proxied request makes four socket operations, and the hot path keeps them
// direct calls. The templates stay out of this header (it is small on purpose), so the build
// compiles them once, in their own translation units.

#include "spillway/net/timed_socket.hpp"

#include <concepts>

namespace spillway::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
using netx::task;

inline netx::timed_socket& deadline_layer(netx::timed_socket& stream) noexcept {
    return stream;
}

template <class Stream>
concept client_stream = requires(Stream& s) {
    { deadline_layer(s) } -> std::same_as<netx::timed_socket&>;
    typename Stream::executor_type;
};

}  // namespace spillway::proxy
