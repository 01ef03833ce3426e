#pragma once
// The sample API's HTTP/1.1 server (Boost.Beast, one coroutine per connection, keep-alive): it
// parses requests, hands them to users_api and writes the answers, with one log line each. One
// I/O thread is plenty for a demo backend; users_api is thread-safe regardless.

#include <cstdint>
#include <memory>

#include "spillway/config/config.hpp"
#include "spillway/sample_api/users_api.hpp"

namespace spillway::sample_api {

class http_server {
  public:
    http_server(config::host_port listen, users_api& api);
    ~http_server();

    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    // Binds (throws boost::system::system_error when the address cannot be resolved or bound)
    // and starts the thread.
    void start();
    // Closes the listener and every connection, then joins the thread. Idempotent.
    void stop();

    std::uint16_t port() const;

    struct impl;

  private:
    std::unique_ptr<impl> impl_;
};

}  // namespace spillway::sample_api
