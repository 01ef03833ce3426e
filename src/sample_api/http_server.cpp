#include "spillway/sample_api/http_server.hpp"

#include "spillway/http/small_server.hpp"
#include "spillway/runtime/logging.hpp"

namespace spillway::sample_api {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

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

// A request refused by the reading core: answered, then the connection is closed.
response refused_response(const http_util::rejection& r) {
    const bool too_large = r.status == http::status::payload_too_large ||
                           r.status == http::status::request_header_fields_too_large;
    response out{r.status, 11};
    out.set(http::field::content_type, "application/json");
    out.body() = error_body(too_large ? "too_large" : "bad_request", std::string(r.error));
    out.keep_alive(false);
    out.prepare_payload();
    return out;
}

void log_request(spdlog::logger& log, const request& req, const api_response& res) {
    const auto idem = req.find("Idempotency-Key");
    const auto attempt = req.find("X-Spillway-Replay-Attempt");
    log.info(
        "{} {} {}{}{}{}", std::string(req.method_string()), std::string(req.target()), res.status,
        idem == req.end() ? std::string() : " idempotency-key=" + std::string(idem->value()),
        attempt == req.end() ? std::string() : " replay-attempt=" + std::string(attempt->value()),
        res.header("Idempotent-Replayed") ? " (repeat: answered from the key, nothing done)" : "");
}

response handle(users_api& api, spdlog::logger& log, const request& req) {
    api_request in{std::string(req.method_string()), std::string(req.target()), req.body(),
                   std::nullopt};
    if (auto it = req.find("Idempotency-Key"); it != req.end()) {
        in.idempotency_key = std::string(it->value());
    }
    const auto result = api.handle(in);
    log_request(log, req, result);
    return to_http(result, req);
}

}  // namespace

std::unique_ptr<http_util::small_server> make_http_server(config::host_port listen,
                                                          users_api& api) {
    http_util::small_server_options options;
    options.body_limit = max_body_bytes;
    options.header_limit = max_header_bytes;
    options.read_timeout = read_timeout;
    options.write_timeout = write_timeout;
    options.refused = refused_response;
    // Stopping drops open connections: a request handled but not yet answered has taken effect
    // without its client knowing, the case Idempotency-Key exists for.
    return std::make_unique<http_util::small_server>(
        std::move(listen), std::move(options),
        [&api, log = runtime::logger("sample-api")](const request& req) {
            return handle(api, *log, req);
        });
}

}  // namespace spillway::sample_api
