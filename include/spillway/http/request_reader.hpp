#pragma once
// Reading one request off a connection, the way every listener does it: the head, then (after
// the listener's checks) the body, each under its deadline, from a buffer whose size is bounded.
//
// Beast limits the header block and the body, but a chunk-size line or a trailer block without
// an end would grow the read buffer without bound (a "1;" followed by 256 MiB took the proxy to
// 800 MB): read_buffer() caps it, so such a line ends in buffer_overflow, answered 431 like a
// header that is too large (request_rules.hpp). Included by the listeners' sources only: it is
// templates over the stream type.

#include "spillway/http/request_parser.hpp"
#include "spillway/net/timed_socket.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace spillway::http_util {

// The read buffer of a connection whose heads may hold `max_header_bytes`: room for the head
// plus a read's worth, at least 64 KiB so that bodies arrive in large reads.
inline boost::beast::flat_buffer read_buffer(std::size_t max_header_bytes) {
    return boost::beast::flat_buffer(std::max<std::size_t>(max_header_bytes + 4096, 64 * 1024));
}

// Reads the head of the next request into `parser`. The error as the deadline translates it.
template <class Stream>
netx::task<boost::system::error_code> read_request_head(Stream& stream,
                                                        netx::timed_socket& deadline,
                                                        boost::beast::flat_buffer& buffer,
                                                        request_parser& parser,
                                                        std::chrono::milliseconds timeout) {
    deadline.expires_after(timeout);
    auto [ec, n] =
        co_await boost::beast::http::async_read_header(stream, buffer, parser, netx::use_task);
    co_return deadline.translate(ec);
}

// Reads the rest of the request. `admit_body(bytes)` is asked, before the body is read and as a
// chunked body grows, whether the request may hold that many body bytes in memory; when it says
// no, the read stops with `overloaded` set.
struct body_read {
    boost::system::error_code error;
    bool overloaded = false;
};

template <class Stream, class AdmitBody>
netx::task<body_read> read_request_body(Stream& stream, netx::timed_socket& deadline,
                                        boost::beast::flat_buffer& buffer, request_parser& parser,
                                        std::chrono::milliseconds timeout, AdmitBody admit_body) {
    body_read out;
    const auto declared = parser.content_length();
    if (!admit_body(declared ? *declared : 0)) {
        out.overloaded = true;
        co_return out;
    }
    deadline.expires_after(timeout);
    while (!parser.is_done()) {
        auto [ec, n] =
            co_await boost::beast::http::async_read_some(stream, buffer, parser, netx::use_task);
        if (ec) {
            out.error = deadline.translate(ec);
            break;
        }
        if (!declared && !admit_body(parser.get().body().size())) {
            out.overloaded = true;
            break;
        }
    }
    deadline.expires_never();
    co_return out;
}

}  // namespace spillway::http_util
