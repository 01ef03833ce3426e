#pragma once
// The one HTTP/1 response writer to the client: the head the proxy sends for a response relayed
// from the backend (its end-to-end headers, framing chosen for this client: the backend's
// Content-Length, re-chunked for HTTP/1.1, or until close for HTTP/1.0) and for a response of
// its own (a "queued" answer, a 4xx, the health check), and the framing of every body piece.
//
// It builds buffers and never writes: the caller passes next()'s buffers to its own
// net::async_write, on whatever stream the session has (plain TCP, TLS later), so the hot path
// keeps one write per piece with no coroutine frame or virtual call of the writer's. The head
// and the first piece go out in one write; the head is built in a buffer the caller owns (the
// session's scratch: one allocation per connection, not per request).

#include "spillway/proxy/message_heads.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace spillway::proxy {

namespace net = boost::asio;
using client_response = http::response<http::string_body>;

// How the response body travels to the client.
enum class body_framing {
    none,  // HEAD, 1xx, 204, 304: no body
    content_length,  // the backend's Content-Length is kept
    chunked,  // re-chunked for an HTTP/1.1 client
    until_close,  // HTTP/1.0 client and no length: the body ends when we close
};

body_framing choose_framing(const http::response_header<>& res, bool head_request,
                            std::optional<std::uint64_t> content_length, bool client_http11);

// Appends the response head for the client to `out`: the status line, the backend's end-to-end
// headers, the framing header and the connection's keep-alive decision.
void build_client_response_head(std::string& out, const http::response_header<>& res,
                                body_framing framing, std::optional<std::uint64_t> content_length,
                                bool keep_alive, bool client_http11);

// Appends the 101 Switching Protocols head for the client to `out`: the backend's end-to-end
// headers, then "Connection: Upgrade" and the backend's Upgrade value (hop-by-hop headers, so
// written for this hop). Returns false when the 101 names no protocol (RFC 9110 §15.2.2 requires
// Upgrade): not a switch the proxy can relay.
bool build_switching_protocols_head(std::string& out, const http::response_header<>& res);

// The buffers of one write to the client: the head (first write only), then a piece of the
// body, framed as a chunk when the client gets the body re-chunked.
// Neither copied nor moved: its buffers may point into its own size line.
class response_piece {
public:
    response_piece(const response_piece&) = delete;
    response_piece& operator=(const response_piece&) = delete;

    std::span<const net::const_buffer> buffers() const { return {out_.data(), count_}; }
    // Nothing to write: the head went already and the piece has no bytes (an empty async_write
    // would still cost a trip through the executor).
    bool empty() const { return count_ == 0; }

private:
    friend class response_writer;
    response_piece(const std::string* head, bool chunked, const char* data, std::size_t n,
                   bool last);
    void add(net::const_buffer b) { out_[count_++] = b; }

    std::array<net::const_buffer, 5> out_;
    std::size_t count_ = 0;
    char size_line_[20];
};

class response_writer {
public:
    // `head`: where the head is built (cleared first); it must outlive the writes.
    explicit response_writer(std::string& head) : head_(head) {}

    // Starts a response relayed from the backend. Returns whether the client connection can stay
    // open: not when the body ends with the connection.
    bool start_relayed(const http::response_header<>& res,
                       std::optional<std::uint64_t> content_length, bool head_request,
                       bool client_http11, bool keep_alive);

    // Starts a response of the proxy's own; its body is then one piece: next(res.body(), true).
    void start_local(const client_response& res);

    // The next write: the head if it has not gone yet, and `n` bytes of body (the last piece
    // when `last`). The buffers point into `data` and the head: keep both until written.
    response_piece next(const char* data, std::size_t n, bool last);

private:
    std::string& head_;
    body_framing framing_ = body_framing::content_length;
    bool head_sent_ = false;
};

}  // namespace spillway::proxy
