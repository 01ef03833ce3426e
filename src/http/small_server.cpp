#include "spillway/http/small_server.hpp"

#include "spillway/http/request_reader.hpp"
#include "spillway/net/accept_pause.hpp"
#include "spillway/net/timed_socket.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>

#include <thread>

namespace spillway::http_util {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using netx::task;

}  // namespace

struct small_server::impl {
    impl(config::host_port l, small_server_options o, handler a)
        : listen(std::move(l)),
          options(std::move(o)),
          answer(std::move(a)),
          sweeper(ioc.get_executor(), std::chrono::milliseconds(100)),
          acceptor(ioc.get_executor()) {}

    small_response refusal(const rejection& r) const {
        if (options.refused) {
            return options.refused(r);
        }
        small_response res{r.status, 11};
        res.set(http::field::content_type, "application/json");
        res.body() = rejection_body(r);
        res.keep_alive(false);
        res.prepare_payload();
        return res;
    }

    small_response answer_or_500(const small_request& req) const {
        try {
            return answer(req);
        } catch (const std::exception& e) {
            runtime::logger("http")->error("handler failed on {}: {}", std::string(req.target()),
                                           e.what());
        }
        return refusal(rejection{http::status::internal_server_error, "internal_error"});
    }

    // Reads one request with the shared reading core; the rejection to answer, if any, or an
    // error when there is nobody to answer.
    task<std::optional<rejection>> read(netx::timed_socket& stream, beast::flat_buffer& buffer,
                                        request_parser& parser, boost::system::error_code& ec) {
        parser.limit_header_bytes(options.header_limit);
        parser.body_limit(options.body_limit);
        ec = co_await read_request_head(stream, stream, buffer, parser, options.read_timeout);
        if (!ec) {
            if (auto refused = check_request_head(parser)) {
                co_return refused;
            }
            const auto body = co_await read_request_body(
                stream, stream, buffer, parser, options.read_timeout,
                [](std::uint64_t) { return true; });  // few clients, bodies <= body_limit
            ec = body.error;
        }
        co_return ec ? rejection_for(ec) : std::nullopt;
    }

    task<void> serve(netx::tcp_socket socket) {
        netx::timed_socket stream(std::move(socket), sweeper);
        auto buffer = read_buffer(options.header_limit);
        for (;;) {
            request_parser parser;
            boost::system::error_code ec;
            const auto refused = co_await read(stream, buffer, parser, ec);
            if (refused || ec) {
                if (refused) {
                    auto res = refusal(*refused);
                    stream.expires_after(options.write_timeout);
                    co_await http::async_write(stream, res, netx::use_task);  // then close
                }
                co_return;
            }
            auto res = answer_or_500(parser.get());
            stream.expires_after(options.write_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, netx::use_task);
            if (wec || !res.keep_alive()) {
                co_return;
            }
        }
    }

    // Out of descriptors, accept() fails while the connection stays queued: pause instead of
    // spinning on it (accept_pause.hpp), logged once per episode.
    task<void> accept_loop() {
        static const auto log = runtime::logger("http");
        netx::steady_timer backoff(ioc.get_executor());
        netx::accept_pause exhausted;
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(netx::use_task);
            if (ec == net::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            if (netx::is_per_connection_accept_error(ec)) {
                continue;
            }
            if (ec) {
                if (exhausted.on_exhausted()) {
                    log->warn("listener {}: accept: {}: pausing accepts, retrying every {} ms",
                              listen.to_string(), ec.message(), netx::accept_pause::pause.count());
                }
                backoff.expires_after(netx::accept_pause::pause);
                co_await backoff.async_wait(netx::use_task);  // cancelled: the loop sees it
                continue;
            }
            if (const auto attempts = exhausted.on_accepted(); attempts > 0) {
                log->warn("listener {}: accept resumed after {} paused attempt(s)",
                          listen.to_string(), attempts);
            }
            net::co_spawn(ioc.get_executor(), serve(std::move(socket)), net::detached);
        }
    }

    config::host_port listen;
    small_server_options options;
    handler answer;
    net::io_context ioc{1};
    netx::deadline_sweeper sweeper;
    netx::tcp_acceptor acceptor;
    std::thread thread;
};

small_server::small_server(config::host_port listen, small_server_options options, handler answer)
    : impl_(std::make_unique<impl>(std::move(listen), std::move(options), std::move(answer))) {}

small_server::~small_server() {
    stop();
}

void small_server::start() {
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
    i.thread = std::thread([&i] {
        // Whatever escapes a handler ends only the operation it came from.
        for (;;) {
            try {
                i.ioc.run();
                return;
            } catch (const std::exception& e) {
                runtime::logger("http")->error("internal error in the event loop: {}", e.what());
            }
        }
    });
}

void small_server::stop() {
    auto& i = *impl_;
    if (!i.thread.joinable()) {
        return;
    }
    net::post(i.ioc, [&i] {
        boost::system::error_code ec;
        i.acceptor.close(ec);
        i.sweeper.stop();
    });
    i.ioc.stop();  // open connections are dropped
    i.thread.join();
}

std::uint16_t small_server::port() const {
    boost::system::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace spillway::http_util
