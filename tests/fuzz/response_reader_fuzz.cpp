// The backend response reader, the way the proxy's forwarder and the replay's backend client read
// an answer: upstream::read_response_head (interim responses skipped, the proxy's header limit),
// then the body in 16 KiB pieces with upstream::read_body_some, as the forwarder's relay and the
// replay's discard_body read it, on an upstream::connection (the pool's, with its bounded buffer).
// The bytes come from a real socket (one end of a socketpair, written by a coroutine and then shut
// down), since read_response_head takes the proxy's timed_socket.
//
// Each input is read twice: as the answer to a GET, and to a HEAD (no body, whatever the head
// says). Invariants: no crash and no exception; the connection's buffer never holds more than
// max_response_framing_bytes; a body read to its end has the declared Content-Length, and
// the answer to a HEAD has none.

#include "spillway/net/timed_socket.hpp"
#include "spillway/upstream/pool.hpp"
#include "spillway/upstream/response_body.hpp"
#include "spillway/upstream/response_head.hpp"

#include "fuzz_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
#include <exception>

#include <sys/socket.h>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace netx = spillway::netx;
namespace upstream = spillway::upstream;

constexpr std::size_t piece_bytes = 16 * 1024;  // forwarder.cpp's relay_chunk_bytes
// The header limit (head_options' default), plus what one read adds (Beast reads 64 KiB at most).
constexpr std::size_t max_buffered_bytes = upstream::max_response_framing_bytes;

struct read_result {
    bool head_read = false;
    unsigned status = 0;
    bool done = false;
    std::uint64_t body_bytes = 0;
    std::optional<std::uint64_t> content_length;
};

netx::task<void> send(netx::tcp_socket& backend, std::string_view bytes) {
    co_await net::async_write(backend, net::buffer(bytes), netx::use_task);
    boost::system::error_code ignored;
    backend.shutdown(net::socket_base::shutdown_send, ignored);
}

netx::task<void> receive(upstream::connection& conn, bool head_request, read_result& out) {
    auto& stream = conn.stream;
    auto& buffer = conn.buffer;
    std::optional<upstream::response_parser> parser;
    const auto head = co_await upstream::read_response_head(stream, buffer, parser,
                                                            {.head_request = head_request});
    SPILLWAY_FUZZ_CHECK(buffer.size() <= max_buffered_bytes);
    if (head.error) {
        co_return;
    }
    out.head_read = true;
    out.status = parser->get().result_int();
    SPILLWAY_FUZZ_CHECK(out.status < 100 || out.status > 199 || out.status == 101);
    if (const auto length = parser->content_length()) {
        out.content_length = *length;
    }
    std::array<char, piece_bytes> piece;
    while (!parser->is_done()) {
        const auto got = co_await upstream::read_body_some(stream, buffer, *parser, piece);
        SPILLWAY_FUZZ_CHECK(buffer.size() <= max_buffered_bytes);
        SPILLWAY_FUZZ_CHECK(got.bytes <= piece.size());
        out.body_bytes += got.bytes;
        if (got.error) {
            co_return;
        }
    }
    out.done = true;
}

// Rethrows what a coroutine threw, out of io_context::run: an exception is a finding.
void rethrow(std::exception_ptr e) {
    if (e) {
        std::rethrow_exception(e);
    }
}

read_result read_response(std::string_view bytes, bool head_request) {
    static net::io_context ioc;
    static netx::deadline_sweeper sweeper(ioc.get_executor(), std::chrono::milliseconds(100));
    int fds[2];
    SPILLWAY_FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    // A stream socket of another family: Asio only reads and writes the descriptor.
    netx::tcp_socket backend(ioc.get_executor(), net::ip::tcp::v4(), fds[0]);
    upstream::pool_gauges gauges;
    upstream::pool_gauges::add(gauges.open, 1);  // as the pool counts a connection it made
    upstream::connection conn(sweeper, gauges);
    conn.stream.socket().assign(net::ip::tcp::v4(), fds[1]);
    read_result out;
    net::co_spawn(ioc, send(backend, bytes), rethrow);
    net::co_spawn(ioc, receive(conn, head_request, out), rethrow);
    ioc.restart();
    ioc.run();
    return out;
}

void check(const read_result& r, bool head_request) {
    if (spillway::fuzz::printing()) {
        std::printf("%s: head %s, status %u, body %llu bytes%s\n", head_request ? "HEAD" : "GET",
                    r.head_read ? "read" : "refused", r.status,
                    static_cast<unsigned long long>(r.body_bytes), r.done ? ", complete" : "");
    }
    if (head_request) {
        SPILLWAY_FUZZ_CHECK(r.body_bytes == 0);
    }
    if (r.done && r.content_length && !head_request && r.status >= 200 && r.status != 204 &&
        r.status != 304) {
        SPILLWAY_FUZZ_CHECK(r.body_bytes == *r.content_length);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    for (const bool head_request : {false, true}) {
        check(read_response(bytes, head_request), head_request);
    }
    return 0;
}
