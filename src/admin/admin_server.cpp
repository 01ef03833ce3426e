#include "spillway/admin/admin_server.hpp"

#include "spillway/net/timed_socket.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <thread>

namespace spillway::admin {

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using netx::task;

constexpr auto request_timeout = std::chrono::seconds(10);

http::response<http::string_body> route(const http::request<http::string_body>& req,
                                        registry& metrics, const readiness_check& ready) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    const auto target = req.target();
    const auto path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.body() = R"({"error":"method_not_allowed"})";
    } else if (path == "/metrics") {
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = metrics.render();
    } else if (path == "/health") {
        res.body() = R"({"status":"ok"})";
    } else if (path == "/ready") {
        if (auto reason = ready()) {
            res.result(http::status::service_unavailable);
            std::string body = R"({"status":"not_ready","reason":")";
            runtime::append_json_escaped(body, *reason);
            res.body() = body + "\"}";
        } else {
            res.body() = R"({"status":"ready"})";
        }
    } else {
        res.result(http::status::not_found);
        res.body() = R"({"error":"not_found"})";
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) {
        res.body().clear();
    }
    return res;
}

}  // namespace

struct admin_server::impl {
    impl(config::host_port l, registry& m, readiness_check r)
        : listen(std::move(l)), metrics(m), ready(std::move(r)), sweeper(ioc.get_executor(),
                                                                           std::chrono::milliseconds(100)),
          acceptor(ioc.get_executor()) {}

    task<void> serve(netx::tcp_socket socket) {
        netx::timed_socket stream(std::move(socket), sweeper);
        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(64 * 1024);
            stream.expires_after(request_timeout);
            auto [ec, n] = co_await http::async_read(stream, buffer, parser, netx::use_task);
            if (ec) {
                co_return;
            }
            auto res = route(parser.get(), metrics, ready);
            stream.expires_after(request_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, netx::use_task);
            if (wec || !res.keep_alive()) {
                co_return;
            }
        }
    }

    task<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(netx::use_task);
            if (ec == net::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            if (!ec) {
                net::co_spawn(ioc.get_executor(), serve(std::move(socket)), net::detached);
            }
        }
    }

    config::host_port listen;
    registry& metrics;
    readiness_check ready;
    net::io_context ioc{1};
    netx::deadline_sweeper sweeper;
    netx::tcp_acceptor acceptor;
    std::thread thread;
};

admin_server::admin_server(config::host_port listen, registry& metrics, readiness_check ready)
    : impl_(std::make_unique<impl>(std::move(listen), metrics, std::move(ready))) {}

admin_server::~admin_server() {
    stop();
}

void admin_server::start() {
    auto& i = *impl_;
    const net::ip::tcp::endpoint endpoint(net::ip::make_address(i.listen.host), i.listen.port);
    i.acceptor.open(endpoint.protocol());
    i.acceptor.set_option(net::socket_base::reuse_address(true));
    i.acceptor.bind(endpoint);
    i.acceptor.listen();
    net::co_spawn(i.ioc.get_executor(), i.accept_loop(), net::detached);
    net::co_spawn(i.ioc.get_executor(), i.sweeper.run(), net::detached);
    i.thread = std::thread([&i] { i.ioc.run(); });
    runtime::logger("admin")->info("admin listener on {}:{} (/metrics, /health, /ready)",
                                   i.listen.host, port());
}

void admin_server::stop() {
    auto& i = *impl_;
    if (!i.thread.joinable()) {
        return;
    }
    net::post(i.ioc, [&i] {
        boost::system::error_code ec;
        i.acceptor.close(ec);
        i.sweeper.stop();
    });
    i.ioc.stop();  // open scrape connections are simply dropped
    i.thread.join();
}

std::uint16_t admin_server::port() const {
    boost::system::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

bool start_admin(admin_server& server, const config::config& cfg) {
    if (!cfg.admin.enabled) {
        runtime::logger("admin")->info("admin listener off (admin.listen \"off\")");
        return true;
    }
    try {
        server.start();
    } catch (const std::system_error& e) {
        if (cfg.admin.listen) {
            runtime::logger("admin")->critical("cannot listen on admin.listen {}: {}",
                                               cfg.admin.listen->to_string(), e.what());
            return false;
        }
        runtime::logger("admin")->warn(
            "admin listener not started, its default address is taken ({}); set admin.listen",
            e.what());
    }
    return true;
}

config::host_port admin_address(const config::config& cfg, std::uint16_t default_port) {
    return cfg.admin.listen.value_or(config::host_port{"127.0.0.1", default_port});
}

}  // namespace spillway::admin
