#include "spillway/sample_api/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <thread>

#include "spillway/net/timed_socket.hpp"
#include "spillway/runtime/logging.hpp"

namespace spillway::sample_api {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using netx::task;

constexpr auto read_timeout = std::chrono::seconds(30);
constexpr auto write_timeout = std::chrono::seconds(30);
constexpr std::uint64_t max_body_bytes = 1024 * 1024;
constexpr std::uint32_t max_header_bytes = 16 * 1024;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

response to_http(const api_response& res, const request& req) {
    response out{static_cast<http::status>(res.status), req.version()};
    out.set(http::field::server, "spillway-sample-api");
    if (!res.body.empty()) {
        out.set(http::field::content_type, "application/json");
    }
    for (const auto& [name, value] : res.headers) {
        out.set(name, value);
    }
    out.body() = res.body;
    out.keep_alive(req.keep_alive());
    out.prepare_payload();
    if (req.method() == http::verb::head) {
        out.body().clear();  // Content-Length stays that of the GET
    }
    return out;
}

// A request that could not be parsed: answered, then the connection is closed.
response parse_error_response(const beast::error_code& ec) {
    const bool too_large = ec == http::error::body_limit || ec == http::error::header_limit;
    response out{too_large ? http::status::payload_too_large : http::status::bad_request, 11};
    out.set(http::field::content_type, "application/json");
    out.body() = error_body(too_large ? "too_large" : "bad_request", ec.message());
    out.keep_alive(false);
    out.prepare_payload();
    return out;
}

}  // namespace

struct http_server::impl {
    impl(config::host_port l, users_api& a)
        : listen(std::move(l)),
          api(a),
          sweeper(ioc.get_executor(), std::chrono::milliseconds(100)),
          acceptor(ioc.get_executor()),
          log(runtime::logger("sample-api")) {}

    void log_request(const request& req, unsigned status, const api_response& res) {
        const auto idem = req.find("Idempotency-Key");
        const auto attempt = req.find("X-Spillway-Replay-Attempt");
        log->info(
            "{} {} {}{}{}{}", std::string(req.method_string()), std::string(req.target()), status,
            idem == req.end() ? std::string() : " idempotency-key=" + std::string(idem->value()),
            attempt == req.end() ? std::string()
                                 : " replay-attempt=" + std::string(attempt->value()),
            res.header("Idempotent-Replayed") ? " (repeat: answered from the key, nothing done)"
                                              : "");
    }

    task<void> serve(netx::tcp_socket socket) {
        netx::timed_socket stream(std::move(socket), sweeper);
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(max_body_bytes);
            parser.header_limit(max_header_bytes);
            stream.expires_after(read_timeout);
            auto [ec, n] = co_await http::async_read(stream, buffer, parser, netx::use_task);
            if (ec == http::error::end_of_stream || stream.translate(ec) == beast::error::timeout ||
                ec == net::error::operation_aborted || ec == net::error::connection_reset) {
                co_return;
            }
            if (ec) {
                auto res = parse_error_response(ec);
                stream.expires_after(write_timeout);
                co_await http::async_write(stream, res, netx::use_task);  // then close, whatever
                co_return;
            }
            const auto& req = parser.get();
            api_request in{std::string(req.method_string()), std::string(req.target()), req.body(),
                           std::nullopt};
            if (auto it = req.find("Idempotency-Key"); it != req.end()) {
                in.idempotency_key = std::string(it->value());
            }
            const auto result = api.handle(in);
            log_request(req, result.status, result);
            auto res = to_http(result, req);
            stream.expires_after(write_timeout);
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
    users_api& api;
    net::io_context ioc{1};
    netx::deadline_sweeper sweeper;
    netx::tcp_acceptor acceptor;
    std::shared_ptr<spdlog::logger> log;
    std::thread thread;
};

http_server::http_server(config::host_port listen, users_api& api)
    : impl_(std::make_unique<impl>(std::move(listen), api)) {}

http_server::~http_server() {
    stop();
}

void http_server::start() {
    auto& i = *impl_;
    net::ip::tcp::resolver resolver(i.ioc);
    const auto results = resolver.resolve(i.listen.host, std::to_string(i.listen.port),
                                          net::ip::tcp::resolver::passive);
    const net::ip::tcp::endpoint endpoint = results.begin()->endpoint();
    i.acceptor.open(endpoint.protocol());
    i.acceptor.set_option(net::socket_base::reuse_address(true));
    i.acceptor.bind(endpoint);
    i.acceptor.listen();
    net::co_spawn(i.ioc.get_executor(), i.accept_loop(), net::detached);
    net::co_spawn(i.ioc.get_executor(), i.sweeper.run(), net::detached);
    i.thread = std::thread([&i] { i.ioc.run(); });
}

void http_server::stop() {
    auto& i = *impl_;
    if (!i.thread.joinable()) {
        return;
    }
    net::post(i.ioc, [&i] {
        boost::system::error_code ec;
        i.acceptor.close(ec);
        i.sweeper.stop();
    });
    // Open connections are dropped. A request handled but not yet answered has taken effect
    // without its client knowing: the case Idempotency-Key exists for.
    i.ioc.stop();
    i.thread.join();
}

std::uint16_t http_server::port() const {
    boost::system::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace spillway::sample_api
