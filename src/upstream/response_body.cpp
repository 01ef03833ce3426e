#include "spillway/upstream/response_body.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <stdexcept>

namespace spillway::upstream {

namespace http = boost::beast::http;
using error_code = boost::system::error_code;

body_piece parse_buffered_body(response_parser& parser, boost::beast::flat_buffer& buffer,
                               std::span<char> out) {
    body_piece piece;
    // Eager: one put() parses every whole chunk in the buffer, not one step of the framing (a
    // non-eager parser would need a call per chunk header and per chunk).
    parser.eager(true);
    auto& body = parser.get().body();
    while (!parser.is_done() && buffer.size() > 0 && piece.bytes < out.size()) {
        body.data = out.data() + piece.bytes;
        body.size = out.size() - piece.bytes;
        error_code ec;
        std::size_t used = 0;
        try {
            used = parser.put(buffer.data(), ec);
        } catch (const std::length_error&) {
            // A trailer field too long for Beast's fields; the buffer's bound keeps any from
            // getting here, this keeps an exception from ending the process if one did.
            ec = http::error::header_limit;
        }
        buffer.consume(used);
        piece.bytes = out.size() - body.size;
        if (ec == http::error::need_more || ec == http::error::need_buffer) {
            break;  // incomplete framing left in the buffer, or `out` is full
        }
        if (ec) {
            piece.error = ec;
            break;
        }
        if (used == 0) {
            break;
        }
    }
    body.data = nullptr;  // `out` is the caller's: the parser must not keep it
    body.size = 0;
    return piece;
}

netx::task<body_piece> read_body_some(backend_stream& stream, boost::beast::flat_buffer& buffer,
                                      response_parser& parser, std::span<char> out) {
    bound_response_buffer(buffer);
    for (;;) {
        auto piece = parse_buffered_body(parser, buffer, out);
        if (piece.error || piece.bytes > 0 || parser.is_done()) {
            co_return piece;
        }
        // prepare() throws beyond max_size(): never ask for more than fits.
        const std::size_t room = buffer.max_size() - buffer.size();
        if (room == 0) {
            co_return body_piece{0, http::error::buffer_overflow};
        }
        // At least a piece's worth, so a large body is not read in the head's few hundred bytes.
        const std::size_t want =
            std::min(room, std::max(out.size(), buffer.capacity() - buffer.size()));
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(want), netx::use_task);
        buffer.commit(n);
        // A TLS backend that closes without close_notify has closed all the same (nginx and
        // curl take it so too): for a body framed by the close, Content-Length or chunking
        // still tell a truncated one.
        if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated) {
            // A body that ends with the connection is complete; any other was cut short.
            error_code end;
            parser.put_eof(end);
            co_return body_piece{0, end};
        }
        if (ec) {
            co_return body_piece{0, stream.translate(ec)};
        }
    }
}

}  // namespace spillway::upstream
