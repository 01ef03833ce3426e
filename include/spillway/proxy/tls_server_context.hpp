#pragma once
// The TLS listener's certificate, key and settings (tls.*), as an OpenSSL context that new
// handshakes take. reload() builds a new context from the files and swaps it in only when it
// loaded whole, so a bad certificate file changes nothing; connections already open keep the
// context they started with (each holds its own reference).
//
// The Asio SSL headers stay out of here (they are heavy): only session.cpp, forwarder.cpp and
// tls_server_context.cpp include them.

#include "spillway/config/config.hpp"

#include <boost/system/error_code.hpp>

#include <array>
#include <memory>
#include <mutex>
#include <string_view>

namespace boost::asio::ssl {
class context;
}

namespace spillway::proxy {

class tls_server_context {
public:
    // Loads the files; throws config::config_error naming the key (tls.cert_file, tls.key_file,
    // tls.min_version) when one is missing, unreadable, not PEM, or the key does not match.
    explicit tls_server_context(const config::tls_config& cfg);
    ~tls_server_context();

    tls_server_context(const tls_server_context&) = delete;
    tls_server_context& operator=(const tls_server_context&) = delete;

    // The context for a new handshake.
    std::shared_ptr<boost::asio::ssl::context> current() const;

    // Re-reads `cfg`'s files (or the current ones) and, when they load, serves them to new
    // handshakes. Throws config::config_error (the old context stays) when they do not. Safe from
    // any thread.
    void reload(const config::tls_config& cfg);
    void reload();

private:
    mutable std::mutex mutex_;
    config::tls_config cfg_;
    std::shared_ptr<boost::asio::ssl::context> context_;
};

// Why a client's handshake failed, for spillway_tls_handshake_errors_total{reason}.
enum class tls_handshake_failure {
    timeout,  // not done within limits.header_timeout_ms
    plain_http,  // an HTTP request sent to the TLS port
    protocol_version,  // a version below tls.min_version, or not TLS at all
    closed,  // the client went away (or the proxy is stopping)
    other,  // no shared cipher, no http/1.1 in its ALPN, a bad message, ...
};
inline constexpr std::size_t tls_handshake_failure_count = 5;
inline constexpr std::array<std::string_view, tls_handshake_failure_count>
    tls_handshake_failure_names{"timeout", "plain_http", "protocol_version", "closed", "other"};

tls_handshake_failure classify_handshake_error(const boost::system::error_code& ec);

}  // namespace spillway::proxy
