#pragma once
// A small HTTP/1.1 server on a thread of its own (Boost.Beast, one coroutine per connection,
// keep-alive, deadlines from a sweeper): what the admin listener and the sample API share. Not the
// proxy's data path, but it reads requests with the proxy's reading core (request_reader.hpp,
// request_rules.hpp), limits and checks alike. Each request is answered by a handler; the
// connection closes when the client asks for it, on a read or write error, or after a request
// that was refused. A handler that throws answers 500; nothing a client sends ends the thread.

#include "spillway/config/config.hpp"
#include "spillway/http/request_rules.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace spillway::http_util {

using small_request = boost::beast::http::request<boost::beast::http::string_body>;
using small_response = boost::beast::http::response<boost::beast::http::string_body>;

struct small_server_options {
    std::uint64_t body_limit = 64 * 1024;
    std::size_t header_limit = 8 * 1024;  // also chunk extensions and trailers together
    std::chrono::seconds read_timeout{10};
    std::chrono::seconds write_timeout{10};
    // The answer to a refused request (malformed, too large), written before the connection
    // closes; without it, the rejection's status with {"error":"<rejection>"}.
    std::function<small_response(const rejection&)> refused;
};

class small_server {
public:
    using handler = std::function<small_response(const small_request&)>;

    small_server(config::host_port listen, small_server_options options, handler answer);
    ~small_server();  // stop()

    small_server(const small_server&) = delete;
    small_server& operator=(const small_server&) = delete;

    // Resolves and binds `listen` (throws boost::system::system_error when it cannot), then
    // starts the thread.
    void start();
    // Closes the listener, drops open connections, joins the thread. Idempotent.
    void stop();

    std::uint16_t port() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace spillway::http_util
