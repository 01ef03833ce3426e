#include "support/test_ca.hpp"

#include <fstream>
#include <stdexcept>

namespace spillway::test {

namespace {

std::vector<std::string> new_key_args(bool rsa) {
    if (rsa) {
        return {"-newkey", "rsa:2048"};
    }
    return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"};
}

}  // namespace

test_ca::test_ca(std::string_view common_name) {
    auto args = std::vector<std::string>{
        "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=" + std::string(common_name)};
    const auto key = new_key_args(false);
    args.insert(args.end(), key.begin(), key.end());
    args.insert(args.end(), {"-keyout", (dir_ / "ca.key").string(), "-out", ca_file().string()});
    openssl(args);
}

issued_certificate test_ca::issue(std::string_view stem, std::string_view host, bool rsa) const {
    const std::string name(stem);
    issued_certificate out{dir_ / (name + ".pem"), dir_ / (name + ".key")};
    const auto csr = (dir_ / (name + ".csr")).string();
    const auto ext = dir_ / (name + ".ext");
    std::ofstream(ext) << "subjectAltName=DNS:" << host << ",IP:127.0.0.1\n";
    auto args = std::vector<std::string>{"req", "-nodes", "-subj", "/CN=" + std::string(host)};
    const auto key = new_key_args(rsa);
    args.insert(args.end(), key.begin(), key.end());
    args.insert(args.end(), {"-keyout", out.key_file.string(), "-out", csr});
    openssl(args);
    openssl({"x509", "-req", "-in", csr, "-CA", ca_file().string(), "-CAkey",
             (dir_ / "ca.key").string(), "-CAcreateserial", "-days", "2", "-extfile", ext.string(),
             "-out", out.cert_file.string()});
    return out;
}

void test_ca::openssl(const std::vector<std::string>& args) const {
    const auto result = run_command({.path = "openssl", .args = args}, 30s);
    if (result.exit_status != 0) {
        throw std::runtime_error("openssl " + args.front() + " failed: " + result.err);
    }
}

}  // namespace spillway::test
