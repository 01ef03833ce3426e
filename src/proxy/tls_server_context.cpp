#include "spillway/proxy/tls_server_context.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fstream>

namespace spillway::proxy {

namespace {

namespace ssl = boost::asio::ssl;
using config::config_error;

constexpr unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
// Sessions resumed from the cache are only those of this listener (OpenSSL requires an id
// context for server-side caching with client certificates; harmless without).
constexpr unsigned char session_id_context[] = "spillway";

std::string openssl_reason(const boost::system::error_code& ec) {
    const auto reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    return reason != nullptr ? reason : ec.message();
}

void require_readable(const std::string& key, const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw config_error(key + ": cannot read " + path);
    }
}

// Only http/1.1 is spoken: a client that offers ALPN without it is refused with the alert
// RFC 7301 names (no_application_protocol); one that offers no ALPN is served HTTP/1.1.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
    unsigned char* selected = nullptr;
    const int found =
        SSL_select_next_proto(&selected, out_len, alpn_http11, sizeof(alpn_http11), in, in_len);
    if (found != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<ssl::context> load_context(const config::tls_config& cfg) {
    if (cfg.min_version != "1.2" && cfg.min_version != "1.3") {
        throw config_error("tls.min_version: expected \"1.2\" or \"1.3\"");
    }
    require_readable("tls.cert_file", cfg.cert_file);
    require_readable("tls.key_file", cfg.key_file);
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     ssl::context::single_dh_use);
    SSL_CTX* native = ctx->native_handle();
    // A client may not make the proxy run handshake after handshake on one connection (TLS 1.2
    // renegotiation: CPU spent inside reads, never counted as a handshake).
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_min_proto_version(native,
                                  cfg.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cfg.cert_file, ec);
    if (ec) {
        throw config_error("tls.cert_file: cannot load a PEM certificate from " + cfg.cert_file +
                           ": " + openssl_reason(ec));
    }
    ctx->use_private_key_file(cfg.key_file, ssl::context::pem, ec);
    if (ec) {
        throw config_error("tls.key_file: cannot load a PEM private key from " + cfg.key_file +
                           ": " + openssl_reason(ec));
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        ERR_clear_error();
        throw config_error("tls.key_file: " + cfg.key_file +
                           " is not the private key of the certificate in " + cfg.cert_file);
    }
    SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
    // Resumption: session tickets (OpenSSL's default, keys per context) and the server-side
    // session cache, shared by the workers.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(native, session_id_context, sizeof(session_id_context) - 1);
    return ctx;
}

}  // namespace

tls_server_context::tls_server_context(const config::tls_config& cfg)
    : cfg_(cfg), context_(load_context(cfg)) {}

tls_server_context::~tls_server_context() = default;

std::shared_ptr<ssl::context> tls_server_context::current() const {
    std::lock_guard lock(mutex_);
    return context_;
}

void tls_server_context::reload(const config::tls_config& cfg) {
    auto fresh = load_context(cfg);  // throws: nothing changed
    std::lock_guard lock(mutex_);
    cfg_ = cfg;
    context_ = std::move(fresh);
}

tls_handshake_failure classify_handshake_error(const boost::system::error_code& ec) {
    namespace net = boost::asio;
    if (ec == boost::beast::error::timeout) {
        return tls_handshake_failure::timeout;
    }
    if (ec == net::error::eof || ec == ssl::error::stream_truncated ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted ||
        ec == net::error::broken_pipe) {
        return tls_handshake_failure::closed;
    }
    if (ec.category() == net::error::get_ssl_category()) {
        switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
            case SSL_R_HTTP_REQUEST:
            case SSL_R_HTTPS_PROXY_REQUEST:
                return tls_handshake_failure::plain_http;
            case SSL_R_UNSUPPORTED_PROTOCOL:
            case SSL_R_WRONG_VERSION_NUMBER:
            case SSL_R_VERSION_TOO_LOW:
                return tls_handshake_failure::protocol_version;
            default:
                break;
        }
    }
    return tls_handshake_failure::other;
}

void tls_server_context::reload() {
    config::tls_config cfg;
    {
        std::lock_guard lock(mutex_);
        cfg = cfg_;
    }
    reload(cfg);
}

}  // namespace spillway::proxy
