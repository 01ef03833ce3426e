#pragma once
// Reading a backend response's body in pieces, each handed on as soon as it is read: the proxy
// relays every piece to its client at once (server-sent events, streamed answers), the replay
// throws them away.
//
// The parser is driven here, not by http::async_read: that one keeps reading until the caller's
// buffer is full, and even async_read_some reads again, holding the bytes already parsed, when
// the buffer ends inside a chunk's framing. Parsing is eager (as much as the buffer holds, framing
// of several chunks included, in one step) and separate from reading, so it is tested without
// sockets. What a hostile backend can make this hold is bounded by the connection's buffer
// (max_response_framing_bytes): framing that does not fit fails the read.

#include "spillway/upstream/response_head.hpp"

#include <cstddef>
#include <span>

namespace spillway::upstream {

struct body_piece {
    std::size_t bytes = 0;  // body bytes put at the start of the caller's `out`
    boost::system::error_code error;  // set: the body is broken (or cut short); stop reading
};

// Sans-I/O: parses the body bytes `buffer` holds into `out`, and consumes what it parsed. Stops
// when `out` is full, the body ended (parser.is_done()), or what is left in `buffer` is an
// incomplete piece of framing (it stays there). The head must have been read.
body_piece parse_buffered_body(response_parser& parser, boost::beast::flat_buffer& buffer,
                               std::span<char> out);

// Returns once a body byte is in `out` (as many as were there), the body ended, or reading
// failed: the bytes already read are never held back to wait for more. The deadline is the
// caller's (set on `stream`). A body that ends with the connection ends at end of stream; one
// with a length or chunks that is cut short fails with http::error::partial_message; framing
// larger than the buffer's bound fails with http::error::buffer_overflow.
netx::task<body_piece> read_body_some(backend_stream& stream, boost::beast::flat_buffer& buffer,
                                      response_parser& parser, std::span<char> out);

}  // namespace spillway::upstream
