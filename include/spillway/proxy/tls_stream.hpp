#pragma once
// The client's stream on the TLS listener (client_stream.hpp): Asio's ssl::stream over the
// connection's timed socket, which keeps the deadlines. Included only by the files that
// instantiate the phases for it (session.cpp, forwarder.cpp, tunnel.cpp): the Asio SSL headers
// are heavy.

#include "spillway/proxy/client_stream.hpp"

#include <boost/asio/ssl/stream.hpp>

namespace spillway::netx {

// In netx, not proxy: the phases find it by argument-dependent lookup (the stream's template
// argument is netx's), which is the only lookup that sees a declaration made after the concept.
inline timed_socket& deadline_layer(boost::asio::ssl::stream<timed_socket&>& stream) noexcept {
    return stream.next_layer();
}

}  // namespace spillway::netx

namespace spillway::proxy {

using tls_stream = boost::asio::ssl::stream<netx::timed_socket&>;

}  // namespace spillway::proxy
