#pragma once
// Reading a backend's response head, interim responses skipped: what the proxy and the replay
// both do after sending a request.

#include "spillway/upstream/backend_stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace spillway::upstream {

// The body is read later, in pieces, into buffers the caller provides (response_body.hpp). Beast's
// parser with the limits Beast leaves out, as http_util::request_parser has them for clients: chunk
// extensions and trailer fields together count against the header limit (Beast bounds only the
// head), and trailer fields are dropped, not merged into a head that was already relayed. Nothing
// throws: a trailer field over the 64 KiB Beast's fields container can hold threw std::length_error
// out of the body read (found by tests/fuzz, response_reader).
class response_parser
    : public boost::beast::http::response_parser<boost::beast::http::buffer_body> {
public:
    // Sets Beast's header limit and the budget of chunk extensions and trailers alike.
    void header_limit(std::uint32_t bytes);

private:
    void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                       boost::beast::string_view value, boost::beast::error_code& ec) override;
    void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                              boost::beast::error_code& ec) override;
    bool spend(std::size_t bytes);

    std::size_t framing_budget_ = 8192;  // Beast's default header limit
};

// The most a backend response makes a connection hold at once: its head, or one piece of its
// body's framing (a chunk-size line with its extensions, the trailer section), which the parser
// needs whole. Beast limits only the head; the connection's buffer is bounded by this, so a
// longer line fails the read (http::error::buffer_overflow) instead of growing memory.
// At most 64 KiB: Beast keeps a field (a trailer too) with 16-bit offsets and throws
// std::length_error for one of 65,534 bytes or more, and no field is longer than its buffer.
constexpr std::size_t max_response_framing_bytes = 64 * 1024;
static_assert(max_response_framing_bytes <= 65536);

// Bounds `buffer` by max_response_framing_bytes (a connection's buffer is made so; this holds the
// bound for any other buffer a response is read with).
inline void bound_response_buffer(boost::beast::flat_buffer& buffer) {
    if (buffer.max_size() > max_response_framing_bytes) {
        buffer.max_size(max_response_framing_bytes);
    }
}

struct head_options {
    std::uint32_t header_limit = max_response_framing_bytes;
    bool head_request = false;  // a response to HEAD has no body, whatever its headers say
};

struct head_result {
    boost::system::error_code error;  // beast::error::timeout when the stream's deadline passed
    bool received = false;  // whether any byte of a response arrived (interim or not)
};

// Reads heads into `parser`, emplaced afresh for each (a parser reads one message), until a final
// one: 1xx responses (100 Continue, 103 Early Hints) are skipped, except 101 Switching Protocols,
// which is final. The deadline is the caller's (set on `stream` before the request was sent).
// `buffer` keeps the bytes read past the head: the start of the body. `buffer` is bounded
// (bound_response_buffer) first.
netx::task<head_result> read_response_head(backend_stream& stream,
                                           boost::beast::flat_buffer& buffer,
                                           std::optional<response_parser>& parser,
                                           const head_options& options = {});

}  // namespace spillway::upstream
