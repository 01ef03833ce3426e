#pragma once
// The sample API over HTTP/1.1: an http_util::small_server whose handler hands each request to
// users_api and writes one log line per request (with its Idempotency-Key and replay attempt).
// Unparsable requests get 400, oversized ones 413. One I/O thread is plenty for a demo backend;
// users_api is thread-safe regardless.

#include "spillway/config/config.hpp"
#include "spillway/http/small_server.hpp"
#include "spillway/sample_api/users_api.hpp"

#include <memory>

namespace spillway::sample_api {

// Not started yet; `api` must outlive it.
std::unique_ptr<http_util::small_server> make_http_server(config::host_port listen, users_api& api);

}  // namespace spillway::sample_api
