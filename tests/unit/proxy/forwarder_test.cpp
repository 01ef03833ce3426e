// The forwarder in process: a real loopback connection to a scripted backend, the client side
// of the relay read back from a socket pair, everything on the test thread's io_context.

#include "spillway/proxy/forwarder.hpp"

#include "loopback.hpp"

#include <gtest/gtest.h>

namespace spillway::proxy {
namespace {

using test::scripted_backend;

class ForwarderTest : public ::testing::Test {
protected:
    ForwarderTest() : sweeper_(ioc_.get_executor(), std::chrono::milliseconds(10)) {
        cfg_.backend.connect_timeout = std::chrono::milliseconds(1000);
        cfg_.backend.response_timeout = std::chrono::milliseconds(1000);
        net::co_spawn(ioc_, sweeper_.run(), net::detached);
    }
    ~ForwarderTest() override { sweeper_.stop(); }

    // Endpoints at these ports, and a forwarder over them.
    forwarder& make_forwarder(std::vector<std::uint16_t> ports) {
        cfg_.backend.endpoints.clear();
        for (auto port : ports) {
            cfg_.backend.endpoints.push_back({"127.0.0.1", port});
        }
        endpoints_ = make_endpoints(cfg_);
        forwarder_.emplace(sweeper_, endpoints_, 0, cfg_, duration_);
        return *forwarder_;
    }

    static client_request request(http::verb method, std::string target, std::string body = {}) {
        client_request req{method, target, 11};
        req.set(http::field::host, "example.test");
        req.body() = std::move(body);
        req.prepare_payload();
        return req;
    }

    struct outcome {
        forwarder::result result;
        std::string client_got;  // what the client read, up to the first `expect_bytes`
    };

    // Forwards `req` and reads what the client side receives (`expect_bytes` of it).
    outcome forward(const client_request& req, std::size_t expect_bytes = 0) {
        auto pair = test::connect_pair(ioc_);
        netx::timed_socket client(std::move(pair.accepted), sweeper_);
        auto t = [&]() -> netx::task<outcome> {
            request_record record;
            record.client_ip = "127.0.0.1";
            outcome o;
            o.result = co_await forwarder_->forward(client, req, record, true, scratch_);
            record_ = record;
            if (expect_bytes > 0) {
                o.client_got = co_await test::read_until_close(pair.client, expect_bytes);
            }
            co_return o;
        };
        return test::run(ioc_, t());
    }

    net::io_context ioc_{1};
    netx::deadline_sweeper sweeper_;
    config::config cfg_;
    backend_endpoints endpoints_;
    metrics::histogram duration_;
    std::optional<forwarder> forwarder_;
    std::string scratch_;
    request_record record_;
};

// A port with nothing listening: bound, then closed.
std::uint16_t dead_port(net::io_context& ioc) {
    netx::tcp_acceptor a(ioc.get_executor());
    const net::ip::tcp::endpoint any(net::ip::make_address("127.0.0.1"), 0);
    a.open(any.protocol());
    a.bind(any);
    return a.local_endpoint().port();
}

TEST_F(ForwarderTest, RelaysTheBackendsAnswer) {
    scripted_backend backend(ioc_);
    backend.script(test::ok_answer("hello"));
    make_forwarder({backend.port()});
    const auto o = forward(request(http::verb::get, "/a"), 40);
    EXPECT_FALSE(o.result.failure);
    EXPECT_TRUE(o.result.client_keep_alive);
    EXPECT_NE(o.client_got.find("HTTP/1.1 200 OK\r\n"), std::string::npos);
    EXPECT_NE(o.client_got.find("Content-Length: 5\r\n"), std::string::npos);
    EXPECT_EQ(o.client_got.substr(o.client_got.size() - 5), "hello");
    EXPECT_EQ(record_.status, 200u);
}

TEST_F(ForwarderTest, ABodyWithoutLengthIsRechunkedForAnHttp11Client) {
    scripted_backend backend(ioc_);
    backend.script({"HTTP/1.1 200 OK\r\n\r\nstreamed", true});  // until the backend closes
    make_forwarder({backend.port()});
    const std::string expected =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nstreamed\r\n0\r\n\r\n";
    const auto o = forward(request(http::verb::get, "/a"), expected.size());
    ASSERT_FALSE(o.result.failure);
    EXPECT_EQ(o.client_got, expected);
    EXPECT_EQ(record_.outcome, request_outcome::proxied);
    EXPECT_EQ(record_.response_bytes, expected.size());
}

TEST_F(ForwarderTest, ARefusedConnectIsAConnectErrorReturned) {
    make_forwarder({dead_port(ioc_)});
    const auto o = forward(request(http::verb::post, "/a", "{}"));
    ASSERT_TRUE(o.result.failure);
    EXPECT_EQ(o.result.failure->kind, core::failure_kind::connect_error);
    EXPECT_FALSE(o.result.failure->sent_upstream);
    EXPECT_EQ(o.result.failure->detail, "Connection refused");
}

TEST_F(ForwarderTest, ACaptureStatusIsUpstreamStatus) {
    scripted_backend backend(ioc_);
    backend.script({"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"});
    make_forwarder({backend.port()});
    const auto o = forward(request(http::verb::post, "/a", "{}"));
    ASSERT_TRUE(o.result.failure);
    EXPECT_EQ(o.result.failure->kind, core::failure_kind::upstream_status);
    EXPECT_EQ(o.result.failure->status, 503u);
    EXPECT_TRUE(o.result.failure->sent_upstream);
}

TEST_F(ForwarderTest, AStalePooledConnectionIsRetriedOnANewOne) {
    scripted_backend backend(ioc_);
    backend.script(test::ok_answer("one"));
    backend.script(test::close_without_answer());  // closes the pooled connection on reuse
    backend.script(test::ok_answer("two"));
    make_forwarder({backend.port()});
    EXPECT_FALSE(forward(request(http::verb::get, "/a"), 30).result.failure);
    const auto o = forward(request(http::verb::get, "/a"), 30);
    EXPECT_FALSE(o.result.failure);
    EXPECT_EQ(o.client_got.substr(o.client_got.size() - 3), "two");
    EXPECT_EQ(backend.connections(), 2u);
    EXPECT_EQ(backend.requests(), 3u);
}

TEST_F(ForwarderTest, AStalePooledConnectionIsNotRetriedForAWrittenPost) {
    scripted_backend backend(ioc_);
    backend.script(test::ok_answer("one"));
    backend.script(test::close_without_answer());
    make_forwarder({backend.port()});
    EXPECT_FALSE(forward(request(http::verb::post, "/a", "1"), 30).result.failure);
    const auto o = forward(request(http::verb::post, "/a", "2"));
    ASSERT_TRUE(o.result.failure);
    EXPECT_EQ(o.result.failure->kind, core::failure_kind::upstream_reset);
    EXPECT_TRUE(o.result.failure->sent_upstream);
    EXPECT_EQ(backend.connections(), 1u);
}

TEST_F(ForwarderTest, AnIdempotentRequestFailsOverToTheNextEndpoint) {
    scripted_backend good(ioc_);
    make_forwarder({dead_port(ioc_), good.port()});
    const auto o = forward(request(http::verb::get, "/a"), 30);
    EXPECT_FALSE(o.result.failure);
    EXPECT_EQ(good.requests(), 1u);
    EXPECT_EQ(record_.upstream, endpoints_[1]->name());
}

}  // namespace
}  // namespace spillway::proxy
