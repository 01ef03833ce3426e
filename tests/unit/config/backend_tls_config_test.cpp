// https:// backend URLs and backend.tls: the scheme and its default port, the section's keys,
// and a CA file that cannot serve as one named as the key that is wrong.

#include "spillway/config/config.hpp"

#include "unit/config/config_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <unistd.h>

namespace spillway::config {
namespace {

using namespace test_support;

class BackendTlsConfig : public ConfigFixture {};

TEST_F(BackendTlsConfig, HttpsUrlsMeanTlsWithPort443ByDefault) {
    const config c = parse(
        R"({"backend":{"url":"https://api.example","endpoints":["https://a:8443","http://b"]}})",
        lookup);
    EXPECT_TRUE(c.backend.address.tls);
    EXPECT_EQ(c.backend.address.to_string(), "api.example:443");
    ASSERT_EQ(c.backend.endpoints.size(), 2u);
    EXPECT_TRUE(c.backend.endpoints[0].tls);
    EXPECT_EQ(c.backend.endpoints[0].to_string(), "a:8443");
    EXPECT_FALSE(c.backend.endpoints[1].tls);
    EXPECT_EQ(c.backend.endpoints[1].to_string(), "b:80");
}

TEST_F(BackendTlsConfig, EndpointsAloneKeepTheirSchemeInTheReplayUrl) {
    const config c = parse(R"({"backend":{"endpoints":["https://a:8443"]}})", lookup);
    EXPECT_EQ(c.backend.url, "https://a:8443");
    EXPECT_TRUE(c.backend.address.tls);
}

TEST_F(BackendTlsConfig, DefaultsVerifyAgainstTheSystemsCas) {
    const config c = parse("{}", lookup);
    EXPECT_TRUE(c.backend.tls.verify);
    EXPECT_TRUE(c.backend.tls.ca_file.empty());
    EXPECT_TRUE(c.backend.tls.server_name.empty());
    EXPECT_FALSE(c.backend.address.tls);
}

TEST_F(BackendTlsConfig, SectionIsRead) {
    const config c =
        parse(R"({"backend":{"tls":{"server_name":"api.internal","verify":false}}})", lookup);
    EXPECT_EQ(c.backend.tls.server_name, "api.internal");
    EXPECT_FALSE(c.backend.tls.verify);
}

TEST_F(BackendTlsConfig, MistakesNameTheKey) {
    EXPECT_EQ(error_of(R"({"backend":{"tls":{"verify":"no"}}})"),
              "backend.tls.verify: expected true or false");
    EXPECT_EQ(error_of(R"({"backend":{"tls":{"cafile":"x"}}})"), "backend.tls.cafile: unknown key");
    EXPECT_EQ(error_of(R"({"backend":{"tls":{"ca_file":"/nonexistent/ca.pem"}}})"),
              "backend.tls.ca_file: cannot read /nonexistent/ca.pem");
}

TEST_F(BackendTlsConfig, ACaFileWithoutACertificateIsAnError) {
    char path[] = "/tmp/spillway-ca-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                           "-----END CERTIFICATE-----\n";
    EXPECT_EQ(error_of(std::string(R"({"backend":{"tls":{"ca_file":")") + path + "\"}}}"),
              std::string("backend.tls.ca_file: no PEM certificate in ") + path);
    std::remove(path);
}

}  // namespace
}  // namespace spillway::config
