#pragma once
// TLS to https:// backends (README, "TLS to the backend"): one client SSL_CTX
// per process (per distinct backend.tls, should a reload change it), shared by
// every pool; the handshake a pool runs on each new connection to an https
// endpoint.
//
// Verification: the backend's certificate must chain to backend.tls.ca_file
// when it is set (and then to nothing else: a private CA is the whole trust),
// else to the system's CAs, and must carry the endpoint's host name (or
// backend.tls.server_name, which is also the SNI). A handshake that fails is a
// connect failure: nothing of the request was sent.

#include "spillway/config/config.hpp"
#include "spillway/net/task.hpp"
#include "spillway/upstream/backend_stream.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace spillway::upstream {

class tls_client_context {
public:
    // Throws config::config_error naming the key (backend.tls.ca_file) when it
    // cannot load.
    explicit tls_client_context(const config::backend_tls_config& cfg);

    boost::asio::ssl::context& native() noexcept { return ctx_; }
    bool verify() const noexcept { return verify_; }

    // Resumption: the newest session each backend (address and peer name) gave is
    // offered on the next connect to it, which then skips the certificate
    // exchange and its signature. Under TLS 1.3 a session arrives after the
    // handshake (a ticket, read with the first response), so it is kept from
    // OpenSSL's new-session callback. Shared by the workers (a lock per connect).
    void offer_session(SSL* ssl, const std::string& backend);

private:
    static int on_new_session(SSL* ssl, SSL_SESSION* session);

    using session_ptr = std::unique_ptr<SSL_SESSION, void (*)(SSL_SESSION*)>;

    boost::asio::ssl::context ctx_;
    bool verify_;
    std::mutex mutex_;
    std::map<std::string, session_ptr> sessions_;  // by backend; nodes stay (SSL ex_data)
};

// The process's context for `cfg`, made on first use and shared after
// (thread-safe). Throws like the constructor. The first context made with
// verify false logs the warning the operator needs.
std::shared_ptr<tls_client_context> shared_tls_client_context(
    const config::backend_tls_config& cfg);

// At start: when any endpoint (or backend.url) is https, makes the context now,
// so a CA file that does not load stops the daemon with its key (exit 2)
// instead of failing every request.
void prepare_backend_tls(const config::backend_config& cfg);

// The name the backend's certificate must carry and the SNI:
// backend.tls.server_name, else the URL's host (SNI is left out for an IP
// address, RFC 6066 §3).
std::string tls_peer_name(const config::backend_config& cfg, const config::host_port& address);

// TLS on the connected `stream`, bounded by the deadline already set on it. A
// certificate that was rejected fails with an error of tls_verify_category()
// saying why ("certificate has expired", "hostname mismatch", ...); a handshake
// that ran out of time with connect_timeout; anything else with OpenSSL's or
// the socket's error. `backend`: the endpoint (host:port), the key of its
// resumable session.
netx::task<boost::system::error_code> tls_handshake(backend_stream& stream, tls_client_context& ctx,
                                                    const std::string& peer_name,
                                                    const std::string& backend);

// X509_V_ERR_* codes: "TLS: backend certificate rejected: <OpenSSL's reason>".
const boost::system::error_category& tls_verify_category() noexcept;

}  // namespace spillway::upstream
