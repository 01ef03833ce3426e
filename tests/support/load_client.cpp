#include "support/load_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace spillway::test {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

// The state every connection of one load run shares; all on the run's one thread.
struct load_state {
    const load_options& options;
    http::verb verb;
    std::size_t next = 0;
    load_result result;
};

http::request<http::string_body> load_request(const load_state& st, std::size_t index) {
    http::request<http::string_body> req{st.verb, st.options.target + "?n=" + std::to_string(index),
                                         11};
    req.set(http::field::host, "proxy.test");
    req.set(http::field::content_type, "application/json");
    req.body() = st.options.body;
    req.prepare_payload();
    return req;
}

// Sends requests on one connection until none are left; reconnects when the proxy closed it.
// Requests that got no whole response are counted by run_load from what is missing.
net::awaitable<void> load_connection(load_state& st, tcp::endpoint ep) {
    auto ex = co_await net::this_coro::executor;
    while (st.next < st.options.requests) {
        beast::tcp_stream stream(ex);
        auto [cec] = co_await stream.async_connect(ep, tuple_awaitable);
        if (cec) {
            co_return;
        }
        beast::flat_buffer buffer;
        bool open = true;
        while (open && st.next < st.options.requests) {
            const std::size_t index = st.next++;
            auto req = load_request(st, index);
            const auto start = std::chrono::steady_clock::now();
            auto [wec, wn] = co_await http::async_write(stream, req, tuple_awaitable);
            if (wec) {
                break;
            }
            http::response_parser<http::string_body> parser;
            parser.body_limit(1024 * 1024);
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
            if (rec) {
                break;
            }
            const auto& res = parser.get();
            answer a;
            a.status = res.result_int();
            a.body = res.body();
            if (auto it = res.find("X-Request-Id"); it != res.end()) {
                a.request_id = std::string(it->value());
            }
            a.took = std::chrono::steady_clock::now() - start;
            st.result.answers.push_back(std::move(a));
            open = res.keep_alive();
        }
    }
}

}  // namespace

load_result run_load(const load_options& options) {
    // Declared before the context: coroutines still pending at the deadline refer to it until
    // the context destroys them.
    load_state st{options, http::string_to_verb(options.method), 0, {}};
    net::io_context ioc{1};
    const tcp::endpoint ep(net::ip::make_address_v4("127.0.0.1"), options.port);
    for (std::size_t i = 0; i < options.connections; ++i) {
        net::co_spawn(ioc, load_connection(st, ep), net::detached);
    }
    ioc.run_for(options.timeout);
    st.result.errors = options.requests - st.result.answers.size();
    return std::move(st.result);
}

}  // namespace spillway::test
