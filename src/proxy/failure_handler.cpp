#include "spillway/proxy/failure_handler.hpp"

namespace spillway::proxy {

client_response make_json_response(http::status status, std::string body, unsigned version,
                                   bool keep_alive) {
    client_response res{status, version};
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
}

client_response overloaded_response(std::string_view request_id, unsigned version) {
    auto res = make_json_response(
        http::status::service_unavailable,
        R"({"error":"overloaded","request_id":")" + std::string(request_id) + R"("})", version,
        false);
    res.set(http::field::retry_after, std::to_string(overloaded_retry_after_s));
    res.set("X-Request-Id", request_id);
    return res;
}

}  // namespace spillway::proxy
