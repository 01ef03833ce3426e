#include "support/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>

#include <fcntl.h>

namespace spillway::test {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::uint64_t max_body = 256ull * 1024 * 1024;

template <class Fields>
header_list headers_of(const Fields& fields) {
    header_list out;
    for (const auto& f : fields) {
        out.emplace_back(f.name_string(), f.value());
    }
    return out;
}

}  // namespace

struct http_client::impl {
    net::io_context ioc{1};
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buffer;

    // Runs the operation started by `start` to completion, or cancels it after `timeout` and
    // returns beast::error::timeout. Unlike a stream deadline, a timeout leaves the socket open,
    // so "nothing happened for a while" can be observed and the connection used after it.
    template <class Start>
    error_code run(std::chrono::milliseconds timeout, Start&& start) {
        start();
        ioc.restart();
        ioc.run_for(timeout);
        if (ioc.stopped()) {
            return {};
        }
        error_code ignored;
        stream.socket().cancel(ignored);
        ioc.run();  // the cancelled handler completes with operation_aborted
        return beast::error::timeout;
    }
};

http_client::http_client(std::uint16_t port, std::chrono::milliseconds timeout,
                         std::string_view source)
    : impl_(std::make_unique<impl>()), timeout_(timeout) {
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    // Close-on-exec: a process the test spawns must not inherit (and hold open) this connection.
    impl_->stream.socket().open(endpoint.protocol(), connect_error_);
    if (!connect_error_) {
        const int fd = impl_->stream.socket().native_handle();
        ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
    if (!connect_error_ && !source.empty()) {
        const auto address = net::ip::make_address(std::string(source), connect_error_);
        if (!connect_error_) {
            impl_->stream.socket().bind(tcp::endpoint(address, 0), connect_error_);
        }
    }
    if (connect_error_) {
        return;
    }
    if (auto ec = impl_->run(timeout_, [&] {
            impl_->stream.async_connect(endpoint, [&](error_code ec) { connect_error_ = ec; });
        })) {
        connect_error_ = ec;
    }
}

http_client::~http_client() = default;

error_code http_client::send(std::string_view bytes) {
    error_code result;
    if (auto ec = impl_->run(timeout_, [&] {
            net::async_write(impl_->stream, net::buffer(bytes.data(), bytes.size()),
                             [&](error_code ec, std::size_t) { result = ec; });
        })) {
        result = ec;
    }
    return result;
}

response http_client::read_response(bool head_request) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    parser.skip(head_request);
    response out;
    if (auto ec = impl_->run(timeout_, [&] {
            http::async_read(impl_->stream, impl_->buffer, parser,
                             [&](error_code ec, std::size_t) { out.error = ec; });
        })) {
        out.error = ec;
    }
    if (out.error) {
        return out;
    }
    const auto& msg = parser.get();
    out.status = msg.result_int();
    out.version = msg.version();
    out.reason = msg.reason();
    out.headers = headers_of(msg);
    out.body = msg.body();
    out.keep_alive = msg.keep_alive();
    return out;
}

response http_client::request(std::string_view bytes, bool head_request) {
    if (auto ec = send(bytes)) {
        response out;
        out.error = ec;
        return out;
    }
    return read_response(head_request);
}

streamed_response http_client::read_streamed() {
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    streamed_response out;
    if (auto ec = impl_->run(timeout_, [&] {
            http::async_read_header(impl_->stream, impl_->buffer, parser,
                                    [&](error_code ec, std::size_t) { out.error = ec; });
        })) {
        out.error = ec;
    }
    if (out.error) {
        return out;
    }
    out.status = parser.get().result_int();
    out.headers = headers_of(parser.get());
    std::array<char, 64 * 1024> chunk;
    while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        if (auto ec = impl_->run(timeout_, [&] {
                http::async_read(impl_->stream, impl_->buffer, parser,
                                 [&](error_code ec, std::size_t) { out.error = ec; });
            })) {
            out.error = ec;
        }
        if (out.error == http::error::need_buffer) {
            out.error = {};
        }
        if (out.error) {
            return out;
        }
        const std::size_t n = chunk.size() - parser.get().body().size;
        for (std::size_t i = 0; i < n && out.first_mismatch == UINT64_MAX; ++i) {
            if (chunk[i] != pattern_byte(out.body_bytes + i)) {
                out.first_mismatch = out.body_bytes + i;
            }
        }
        out.body_bytes += n;
    }
    return out;
}

bool http_client::read_until(std::string_view needle, std::string& received,
                             std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto& b = impl_->buffer;
    for (;;) {
        received.append(static_cast<const char*>(b.data().data()), b.size());
        b.consume(b.size());
        if (received.find(needle) != std::string::npos) {
            return true;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        error_code result;
        if (impl_->run(left, [&] {
                impl_->stream.async_read_some(b.prepare(4096), [&](error_code ec, std::size_t n) {
                    b.commit(n);
                    result = ec;
                });
            })) {
            return false;
        }
        if (result) {
            received.append(static_cast<const char*>(b.data().data()), b.size());
            b.consume(b.size());
            return received.find(needle) != std::string::npos;
        }
    }
}

bool http_client::wait_closed(std::chrono::milliseconds timeout, std::string* received) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto& b = impl_->buffer;
    for (;;) {
        if (received != nullptr) {
            received->append(static_cast<const char*>(b.data().data()), b.size());
        }
        b.consume(b.size());
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        error_code result;
        if (impl_->run(left, [&] {
                impl_->stream.async_read_some(b.prepare(4096), [&](error_code ec, std::size_t n) {
                    b.commit(n);
                    result = ec;
                });
            })) {
            return false;  // still open; the connection stays usable
        }
        if (result) {
            if (received != nullptr) {
                received->append(static_cast<const char*>(b.data().data()), b.size());
            }
            return true;  // end of stream, reset: closed either way
        }
    }
}

void http_client::close() {
    error_code ignored;
    impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    impl_->stream.socket().close(ignored);
}

std::string make_request(std::string_view method, std::string_view target, const header_list& extra,
                         std::string_view body, std::string_view host, std::string_view version) {
    std::string out;
    out.append(method).append(" ").append(target).append(" HTTP/").append(version).append("\r\n");
    if (!host.empty()) {
        out.append("Host: ").append(host).append("\r\n");
    }
    for (const auto& [name, value] : extra) {
        out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!body.empty()) {
        out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    out.append("\r\n").append(body);
    return out;
}

response fetch(std::uint16_t port, std::string_view method, std::string_view target,
               const header_list& extra, std::string_view body) {
    http_client client(port);
    if (client.connect_error()) {
        response out;
        out.error = client.connect_error();
        return out;
    }
    return client.request(make_request(method, target, extra, body), method == "HEAD");
}

}  // namespace spillway::test
