#pragma once
// A throwaway certificate authority for TLS tests, made with the `openssl` tool in a temp dir:
// its own certificate (ca_file) and server certificates it signs, ECDSA P-256 or RSA, valid for
// a host name and 127.0.0.1. Throws std::runtime_error (with openssl's output) when a command
// fails.

#include "support/process.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace spillway::test {

struct issued_certificate {
    std::filesystem::path cert_file;  // PEM: the certificate
    std::filesystem::path key_file;  // PEM: its private key
};

class test_ca {
public:
    explicit test_ca(std::string_view common_name = "Spillway Test CA");

    std::filesystem::path ca_file() const { return dir_ / "ca.pem"; }
    const std::filesystem::path& dir() const { return dir_.path(); }

    // A certificate for `host` (subject CN `host`, alternative names DNS:host and
    // IP:127.0.0.1), written to <stem>.pem and <stem>.key in the CA's directory.
    issued_certificate issue(std::string_view stem, std::string_view host = "localhost",
                             bool rsa = false) const;

private:
    void openssl(const std::vector<std::string>& args) const;

    temp_dir dir_{"spillway-ca"};
};

}  // namespace spillway::test
