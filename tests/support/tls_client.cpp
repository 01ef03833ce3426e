#include "support/tls_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace spillway::test {

namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

}  // namespace

struct tls_client::impl {
    explicit impl(const tls_client_options& options) : ctx(ssl::context::tls_client) {
        SSL_CTX* native = ctx.native_handle();
        // Pinned versions must be offered even below the system's default floor.
        SSL_CTX_set_security_level(native, 0);
        SSL_CTX_set_min_proto_version(native, options.min_version);
        SSL_CTX_set_max_proto_version(native, options.max_version);
        if (!options.ca_file.empty()) {
            ctx.load_verify_file(options.ca_file.string());
            ctx.set_verify_mode(ssl::verify_peer);
        }
        stream.emplace(ioc, ctx);
    }

    template <class Start>
    error_code run(std::chrono::milliseconds timeout, Start&& start) {
        start();
        ioc.restart();
        ioc.run_for(timeout);
        if (ioc.stopped()) {
            return {};
        }
        error_code ignored;
        stream->lowest_layer().cancel(ignored);
        ioc.run();
        return beast::error::timeout;
    }

    net::io_context ioc{1};
    ssl::context ctx;
    std::optional<ssl::stream<tcp::socket>> stream;
    beast::flat_buffer buffer;
};

tls_client::tls_client(std::uint16_t port, const tls_client_options& options,
                       std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>(options)), timeout_(timeout) {
    auto& s = *impl_->stream;
    SSL* native = s.native_handle();
    SSL_set_tlsext_host_name(native, options.server_name.c_str());
    if (!options.ca_file.empty()) {
        SSL_set1_host(native, options.server_name.c_str());
    }
    if (!options.alpn.empty()) {
        std::string wire;
        for (const auto& p : options.alpn) {
            wire += static_cast<char>(p.size());
            wire += p;
        }
        SSL_set_alpn_protos(native, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
    }
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    if (auto ec = impl_->run(timeout_, [&] {
            s.lowest_layer().async_connect(endpoint, [&](error_code ec) { error_ = ec; });
        })) {
        error_ = ec;
    }
    if (error_) {
        return;
    }
    if (auto ec = impl_->run(timeout_, [&] {
            s.async_handshake(ssl::stream_base::client, [&](error_code ec) { error_ = ec; });
        })) {
        error_ = ec;
    }
}

tls_client::~tls_client() = default;

std::string tls_client::peer_common_name() const {
    X509* cert = SSL_get0_peer_certificate(impl_->stream->native_handle());
    if (cert == nullptr) {
        return {};
    }
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
    return name;
}

std::string tls_client::alpn_selected() const {
    const unsigned char* data = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(impl_->stream->native_handle(), &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
}

std::string tls_client::version() const {
    return SSL_get_version(impl_->stream->native_handle());
}

error_code tls_client::send(std::string_view bytes) {
    error_code result;
    if (auto ec = impl_->run(timeout_, [&] {
            net::async_write(*impl_->stream, net::buffer(bytes.data(), bytes.size()),
                             [&](error_code ec, std::size_t) { result = ec; });
        })) {
        result = ec;
    }
    return result;
}

response tls_client::read_response(bool head_request) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64ull * 1024 * 1024);
    parser.skip(head_request);
    response out;
    if (auto ec = impl_->run(timeout_, [&] {
            http::async_read(*impl_->stream, impl_->buffer, parser,
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
    for (const auto& f : msg) {
        out.headers.emplace_back(f.name_string(), f.value());
    }
    out.body = msg.body();
    out.keep_alive = msg.keep_alive();
    return out;
}

response tls_client::request(std::string_view bytes, bool head_request) {
    if (auto ec = send(bytes)) {
        response out;
        out.error = ec;
        return out;
    }
    return read_response(head_request);
}

bool tls_client::read_until(std::string_view needle, std::string& received) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
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
                impl_->stream->async_read_some(b.prepare(4096), [&](error_code ec, std::size_t n) {
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

error_code tls_client::renegotiate() {
    error_code result;
    if (SSL_renegotiate(impl_->stream->native_handle()) != 1) {
        return net::error::operation_not_supported;
    }
    if (auto ec = impl_->run(timeout_, [&] {
            impl_->stream->async_handshake(ssl::stream_base::client,
                                           [&](error_code ec) { result = ec; });
        })) {
        result = ec;
    }
    return result;
}

error_code tls_client::shutdown() {
    error_code result;
    if (auto ec = impl_->run(timeout_, [&] {
            impl_->stream->async_shutdown([&](error_code ec) { result = ec; });
        })) {
        result = ec;
    }
    return result;
}

}  // namespace spillway::test
