#pragma once
// Whether an idle keep-alive connection can carry another request.

#include "spillway/upstream/backend_stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>

namespace spillway::upstream {

// True when the connection must not be reused: the backend closed or reset it while it was idle
// (a non-blocking peek finds EOF or an error), or it holds bytes nobody asked for (in `buffer`,
// or waiting in the socket), so the next response read from it would be out of step. Costs one
// recv(MSG_PEEK) and spares a request a dead connection.
bool is_stale(backend_stream& stream, const boost::beast::flat_buffer& buffer);

}  // namespace spillway::upstream
