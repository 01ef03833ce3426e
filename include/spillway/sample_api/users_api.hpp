#pragma once
// The sample API's behaviour, without I/O: a request (method, target, body, Idempotency-Key) in,
// a response (status, JSON body, headers) out. The HTTP server only carries requests to it.
//
//   GET  /api/health              200 {"status":"ok","users":N}
//   GET  /api/users               200 [user, ...]
//   POST /api/users               201 user (Location: /api/users/ID); 400 on a bad body
//   GET  /api/users/ID            200 user; 404
//   PUT  /api/users/ID            200 user; 400; 404
//   DELETE /api/users/ID          204; 404
// Other paths 404, other methods 405 (with Allow). Every error body is {"error":..,"message":..}.
// POST, PUT, PATCH and DELETE honour Idempotency-Key (idempotency_cache). Thread-safe.

#include "spillway/sample_api/idempotency_cache.hpp"
#include "spillway/sample_api/user_store.hpp"

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spillway::sample_api {

struct api_request {
    std::string method;  // as sent, e.g. "POST"
    std::string target;  // path and query
    std::string body;
    std::optional<std::string> idempotency_key;
};

struct api_response {
    unsigned status = 200;
    std::string body;  // JSON; empty for 204
    std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type

    std::optional<std::string> header(const std::string& name) const;
};

struct api_stats {
    std::size_t users = 0;
    std::uint64_t created = 0;  // users ever created
    std::uint64_t replayed = 0;  // requests answered from the idempotency cache
};

class users_api {
public:
    using clock_fn = std::function<std::string()>;  // the time stamps given to users

    explicit users_api(std::size_t idempotency_capacity = 10000, clock_fn now = {});

    api_response handle(const api_request& req);
    api_stats stats() const;

private:
    api_response route(const api_request& req);
    api_response users_collection(const api_request& req);
    api_response one_user(const api_request& req, std::uint64_t id);

    mutable std::mutex mutex_;
    user_store store_;
    idempotency_cache keys_;
    clock_fn now_;
    api_stats stats_;
};

// The JSON error body used for every 4xx.
std::string error_body(const std::string& error, const std::string& message);

}  // namespace spillway::sample_api
