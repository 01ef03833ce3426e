#pragma once
// A TLS test client: connects to 127.0.0.1:port, handshakes (verifying the server against
// `ca_file` with SNI and host name `server_name`, or pinned to a TLS version range), then sends
// raw bytes and reads responses like http_client. Every operation is bounded by the timeout (its
// own io_context run for at most that long, then the operation cancelled).

#include "support/http_client.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spillway::test {

struct tls_client_options {
    std::filesystem::path ca_file;  // empty: no verification
    std::string server_name = "localhost";  // SNI and the name verified
    int min_version = 0;  // TLS1_1_VERSION, ...: 0 = OpenSSL's
    int max_version = 0;
    std::vector<std::string> alpn{"http/1.1"};  // offered, in order; empty: none
};

class tls_client {
public:
    tls_client(std::uint16_t port, const tls_client_options& options,
               std::chrono::milliseconds timeout = 5s);
    ~tls_client();
    tls_client(const tls_client&) = delete;
    tls_client& operator=(const tls_client&) = delete;

    // The connect's or the handshake's failure; empty when the connection is ready.
    const boost::system::error_code& error() const { return error_; }
    // After the handshake: the server certificate's subject CN, the protocol chosen by ALPN,
    // and the TLS version ("TLSv1.3").
    std::string peer_common_name() const;
    std::string alpn_selected() const;
    std::string version() const;

    boost::system::error_code send(std::string_view bytes);
    response read_response(bool head_request = false);
    response request(std::string_view bytes, bool head_request = false);
    // Reads until `needle` is among the bytes received (appended to `received`), the stream
    // ends, or the timeout; true when found. For what is not HTTP (a tunnel's bytes).
    bool read_until(std::string_view needle, std::string& received);
    // Sends close_notify and waits for the server's (or its end of stream): the TLS close.
    boost::system::error_code shutdown();
    // TLS 1.2 only: asks for a new handshake on this connection (renegotiation) and waits for
    // it; the error when the server refused it.
    boost::system::error_code renegotiate();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    boost::system::error_code error_;
    std::chrono::milliseconds timeout_;
};

}  // namespace spillway::test
