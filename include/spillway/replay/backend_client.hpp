#pragma once
// The replay's HTTP client: sends rebuilt requests to backend.url and nowhere else, over pooled
// keep-alive connections. It reports what happened in the terms the retry policy needs: could not
// connect (the backend is down: not an attempt), connected but no complete response (an attempt),
// or a status. A pooled connection that the backend had closed while idle is retried once on a
// fresh connection before anything is reported.

#include "spillway/config/config.hpp"
#include "spillway/replay/request_builder.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <list>
#include <optional>
#include <string>

namespace spillway::replay {

namespace net = boost::asio;
namespace beast = boost::beast;

struct send_result {
    enum class kind {
        response,          // `status` holds the final status
        connect_failed,    // resolve or connect failed or timed out
        transport_failed,  // connected, but the exchange failed (reset, timeout, bad response)
        aborted,           // close_all() was called (shutdown)
    };
    kind outcome = kind::aborted;
    unsigned status = 0;
    std::optional<std::chrono::milliseconds> retry_after;  // from a Retry-After in seconds
    std::string detail;
};

class backend_client {
public:
    backend_client(net::any_io_executor ex, const config::backend_config& cfg,
                   std::size_t max_idle);

    net::awaitable<send_result> send(const outgoing_request& r, unsigned attempt);

    // Whether the backend accepts a TCP connection within backend.connect_timeout_ms.
    net::awaitable<bool> probe();

    // Aborts every exchange in progress and closes every connection; later sends are aborted.
    void close_all();

    // host:port of backend.url, the Host of a request that had none.
    std::string default_host() const;

    std::size_t idle_connections() const { return idle_.size(); }
    std::size_t connections_opened() const { return opened_; }

private:
    struct connection {
        explicit connection(net::any_io_executor ex) : stream(ex) {}
        beast::tcp_stream stream;
        beast::flat_buffer buffer;
        std::string head;  // the request head being sent, reused across requests
    };
    using connection_list = std::list<connection>;

    struct exchange_result;

    net::awaitable<boost::system::error_code> connect(connection& c);
    net::awaitable<exchange_result> exchange(connection& c, const outgoing_request& r,
                                             unsigned attempt);
    void release(connection_list::iterator it, bool keep_alive);

    net::any_io_executor ex_;
    config::backend_config cfg_;
    std::size_t max_idle_;
    connection_list idle_;  // most recently used at the back
    connection_list busy_;
    bool closed_ = false;
    std::size_t opened_ = 0;
};

}  // namespace spillway::replay
