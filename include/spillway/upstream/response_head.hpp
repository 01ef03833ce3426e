#pragma once
// Reading a backend's response head, interim responses skipped: what the proxy and the replay
// both do after sending a request.

#include "spillway/net/timed_socket.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>

namespace spillway::upstream {

// The body is read later, in pieces, into buffers the caller provides.
using response_parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

struct head_options {
    std::uint32_t header_limit = 64 * 1024;
    bool head_request = false;  // a response to HEAD has no body, whatever its headers say
};

struct head_result {
    boost::system::error_code error;  // beast::error::timeout when the stream's deadline passed
    bool received = false;  // whether any byte of a response arrived (interim or not)
};

// Reads heads into `parser`, emplaced afresh for each (a parser reads one message), until a final
// one: 1xx responses (100 Continue, 103 Early Hints) are skipped, except 101 Switching Protocols,
// which is final. The deadline is the caller's (set on `stream` before the request was sent).
// `buffer` keeps the bytes read past the head: the start of the body.
netx::task<head_result> read_response_head(netx::timed_socket& stream,
                                           boost::beast::flat_buffer& buffer,
                                           std::optional<response_parser>& parser,
                                           const head_options& options = {});

}  // namespace spillway::upstream
