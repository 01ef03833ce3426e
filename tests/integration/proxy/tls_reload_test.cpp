// tls_server_context: a reload serves the replaced certificate to new handshakes, and files that
// do not load change nothing (the error names the key). A small TLS acceptor stands in for the
// listener: it handshakes each connection with the context's current() one, as run_session does.

#include "spillway/proxy/tls_server_context.hpp"

#include "support/test_ca.hpp"
#include "support/tls_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

namespace spillway::test {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// Accepts connections on 127.0.0.1 and handshakes each with `context.current()`.
class handshake_server {
public:
    explicit handshake_server(proxy::tls_server_context& context)
        : context_(context), acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
        accept();
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~handshake_server() {
        ioc_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
            if (ec) {
                return;
            }
            auto stream =
                std::make_shared<ssl::stream<tcp::socket>>(std::move(socket), *context_.current());
            stream->async_handshake(ssl::stream_base::server,
                                    [stream](boost::system::error_code) {});
            accept();
        });
    }

    proxy::tls_server_context& context_;
    net::io_context ioc_;
    tcp::acceptor acceptor_;
    std::thread thread_;
};

class TlsReload : public ::testing::Test {
protected:
    test_ca ca_;
    temp_dir dir_{"spillway-tls-reload"};
    config::tls_config cfg_{.cert_file = (dir_ / "cert.pem").string(),
                            .key_file = (dir_ / "key.pem").string()};

    void install(const issued_certificate& cert) {
        namespace fs = std::filesystem;
        fs::copy_file(cert.cert_file, cfg_.cert_file, fs::copy_options::overwrite_existing);
        fs::copy_file(cert.key_file, cfg_.key_file, fs::copy_options::overwrite_existing);
    }

    std::string served_name(std::uint16_t port) {
        tls_client client(port, {});  // the certificates differ only in their names
        EXPECT_FALSE(client.error()) << client.error().message();
        return client.peer_common_name();
    }
};

TEST_F(TlsReload, ANewConnectionSeesTheReplacedCertificate) {
    install(ca_.issue("old", "old.test"));
    proxy::tls_server_context context(cfg_);
    handshake_server server(context);
    EXPECT_EQ(served_name(server.port()), "old.test");

    install(ca_.issue("new", "new.test"));
    EXPECT_EQ(served_name(server.port()), "old.test") << "nothing changes before the reload";
    context.reload();
    EXPECT_EQ(served_name(server.port()), "new.test");
}

TEST_F(TlsReload, FilesThatDoNotLoadChangeNothing) {
    install(ca_.issue("good", "good.test"));
    proxy::tls_server_context context(cfg_);
    handshake_server server(context);

    const auto other = ca_.issue("other", "other.test");
    std::filesystem::copy_file(other.key_file, cfg_.key_file,
                               std::filesystem::copy_options::overwrite_existing);
    try {
        context.reload();
        ADD_FAILURE() << "a key that does not match the certificate was accepted";
    } catch (const config::config_error& e) {
        EXPECT_NE(std::string(e.what()).find("tls.key_file"), std::string::npos) << e.what();
    }
    std::ofstream(cfg_.cert_file) << "garbage\n";
    EXPECT_THROW(context.reload(), config::config_error);
    EXPECT_EQ(served_name(server.port()), "good.test") << "the old certificate is still served";
}

}  // namespace
}  // namespace spillway::test
