#include "spillway/upstream/tls_client_context.hpp"

#include "spillway/core/errors.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <map>
#include <mutex>
#include <tuple>

namespace spillway::upstream {

namespace {

namespace ssl = boost::asio::ssl;
using config::config_error;

// Offered so that a backend which prefers h2 still picks HTTP/1.1, the only
// thing spoken here.
constexpr unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

std::string openssl_reason(const boost::system::error_code& ec) {
    const auto reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    return reason != nullptr ? reason : ec.message();
}

bool is_ip_address(const std::string& host) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    return !ec;
}

// Tells OpenSSL the name (or IP address) the certificate must carry; false when it cannot take
// it, so that the caller fails closed.
bool expect_peer_name(SSL* ssl, const std::string& name, bool ip) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
        return X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
    }
    // Wildcards only as the whole leftmost label (RFC 6125 §6.4.3).
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, name.c_str()) == 1;
}

// Where on_new_session finds its context, and the backend a connection goes to.
int context_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}
int backend_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

class verify_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "spillway.tls_verify"; }
    std::string message(int ev) const override {
        return std::string("TLS: backend certificate rejected: ") +
               X509_verify_cert_error_string(ev);
    }
};

}  // namespace

tls_client_context::tls_client_context(const config::backend_tls_config& cfg)
    : ctx_(ssl::context::tls_client), verify_(cfg.verify) {
    SSL_CTX* native = ctx_.native_handle();
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_alpn_protos(native, alpn_http11, sizeof(alpn_http11));
    SSL_CTX_set_ex_data(native, context_index(), this);
    SSL_CTX_set_session_cache_mode(native,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(native, &tls_client_context::on_new_session);
    if (!verify_) {
        ctx_.set_verify_mode(ssl::verify_none);
        return;
    }
    ctx_.set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (cfg.ca_file.empty()) {
        ctx_.set_default_verify_paths(ec);
        if (ec) {
            throw config_error("backend.tls: cannot load the system's CA certificates: " +
                               openssl_reason(ec));
        }
        return;
    }
    ctx_.load_verify_file(cfg.ca_file, ec);
    if (ec) {
        throw config_error("backend.tls.ca_file: cannot load PEM CA certificates from " +
                           cfg.ca_file + ": " + openssl_reason(ec));
    }
}

void tls_client_context::offer_session(SSL* ssl, const std::string& backend) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.try_emplace(backend, session_ptr(nullptr, SSL_SESSION_free)).first;
    // A copy here too: the one offered becomes the connection's own session.
    if (it->second) {
        if (SSL_SESSION* copy = SSL_SESSION_dup(it->second.get())) {
            SSL_set_session(ssl, copy);  // takes its own reference
            SSL_SESSION_free(copy);
        }
    }
    SSL_set_ex_data(ssl, backend_index(), const_cast<std::string*>(&it->first));
}

int tls_client_context::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<tls_client_context*>(
        SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
    const auto* backend = static_cast<const std::string*>(SSL_get_ex_data(ssl, backend_index()));
    if (self == nullptr || backend == nullptr) {
        return 0;  // OpenSSL keeps the session to itself
    }
    try {
        std::lock_guard lock(self->mutex_);
        // A copy: OpenSSL marks the connection's own session not resumable when the connection
        // is freed without a close_notify sent, which is how the pool closes connections.
        if (auto it = self->sessions_.find(*backend); it != self->sessions_.end()) {
            if (SSL_SESSION* copy = SSL_SESSION_dup(session)) {
                it->second = session_ptr(copy, SSL_SESSION_free);
            }
        }
    } catch (...) {
        // A C callback: nothing may leave it. Without the session the next connect is a full one.
    }
    return 0;  // the connection's own session stays OpenSSL's
}

std::shared_ptr<tls_client_context> shared_tls_client_context(
    const config::backend_tls_config& cfg) {
    static std::mutex mutex;
    static std::map<std::tuple<std::string, bool>, std::shared_ptr<tls_client_context>> made;
    std::lock_guard lock(mutex);
    auto& slot = made[{cfg.ca_file, cfg.verify}];
    if (!slot) {
        slot = std::make_shared<tls_client_context>(cfg);
        if (!cfg.verify) {
            runtime::logger("upstream")
                ->warn(
                    "backend.tls.verify is false: https backends' certificates "
                    "are NOT verified, "
                    "anyone on the path can read and change the traffic (tests "
                    "only)");
        }
    }
    return slot;
}

void prepare_backend_tls(const config::backend_config& cfg) {
    bool any = cfg.address.tls;
    for (const auto& e : cfg.endpoints) {
        any = any || e.tls;
    }
    if (any) {
        shared_tls_client_context(cfg.tls);
    }
}

std::string tls_peer_name(const config::backend_config& cfg, const config::host_port& address) {
    return cfg.tls.server_name.empty() ? address.host : cfg.tls.server_name;
}

netx::task<boost::system::error_code> tls_handshake(backend_stream& stream, tls_client_context& ctx,
                                                    const std::string& peer_name,
                                                    const std::string& backend) {
    auto& tls = stream.start_tls(ctx.native());
    SSL* native = tls.native_handle();
    const bool ip = is_ip_address(peer_name);
    if (!ip) {
        SSL_set_tlsext_host_name(native, peer_name.c_str());
    }
    // Fails closed: a name OpenSSL cannot take (a scoped IPv6 address, say) would otherwise
    // leave no name to check, and any certificate of a trusted CA would pass.
    if (ctx.verify() && !expect_peer_name(native, peer_name, ip)) {
        co_return boost::system::error_code(
            ip ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH,
            tls_verify_category());
    }
    // Keyed by the name too: a session verified for one name is never offered for
    // another.
    ctx.offer_session(native, backend + " " + peer_name);
    auto [ec] = co_await tls.async_handshake(ssl::stream_base::client, netx::use_task);
    if (!ec) {
        co_return ec;
    }
    ec = stream.translate(ec);
    if (ec == boost::beast::error::timeout) {
        co_return core::errc::connect_timeout;
    }
    if (const long verdict = SSL_get_verify_result(native); ctx.verify() && verdict != X509_V_OK) {
        co_return boost::system::error_code(static_cast<int>(verdict), tls_verify_category());
    }
    co_return ec;
}

const boost::system::error_category& tls_verify_category() noexcept {
    static const verify_category instance;
    return instance;
}

}  // namespace spillway::upstream
