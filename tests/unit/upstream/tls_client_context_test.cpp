// The TLS client context's pure parts: which name a backend's certificate must carry, the
// context's refusal of a CA file that does not load (naming the key), one context per distinct
// backend.tls, and the message of a rejected certificate.

#include "spillway/upstream/tls_client_context.hpp"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include <fstream>

#include <unistd.h>

namespace spillway::upstream {
namespace {

TEST(TlsPeerName, TheUrlsHostUnlessServerNameIsSet) {
    config::backend_config cfg;
    const config::host_port address{"10.0.0.7", 8443, true};
    EXPECT_EQ(tls_peer_name(cfg, address), "10.0.0.7");
    cfg.tls.server_name = "api.internal";
    EXPECT_EQ(tls_peer_name(cfg, address), "api.internal");
}

TEST(TlsClientContext, ACaFileThatDoesNotLoadNamesTheKey) {
    char path[] = "/tmp/spillway-ca-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << "not a certificate\n";
    config::backend_tls_config cfg;
    cfg.ca_file = path;
    try {
        tls_client_context context(cfg);
        ADD_FAILURE() << "a CA file without a certificate was accepted";
    } catch (const config::config_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("backend.tls.ca_file: ", 0), 0u) << e.what();
    }
    ::unlink(path);
}

TEST(TlsClientContext, OneSharedContextPerDistinctSettings) {
    config::backend_tls_config verified;
    config::backend_tls_config unverified;
    unverified.verify = false;
    const auto a = shared_tls_client_context(verified);
    EXPECT_EQ(shared_tls_client_context(verified), a);
    const auto b = shared_tls_client_context(unverified);
    EXPECT_NE(a, b);
    EXPECT_TRUE(a->verify());
    EXPECT_FALSE(b->verify());
    config::backend_tls_config named = verified;
    named.server_name = "api.internal";  // per connection, not per context
    EXPECT_EQ(shared_tls_client_context(named), a);
}

TEST(TlsVerifyCategory, SaysTheCertificateWasRejectedAndWhy) {
    const boost::system::error_code ec(X509_V_ERR_HOSTNAME_MISMATCH, tls_verify_category());
    EXPECT_EQ(ec.message(), "TLS: backend certificate rejected: hostname mismatch");
}

}  // namespace
}  // namespace spillway::upstream
