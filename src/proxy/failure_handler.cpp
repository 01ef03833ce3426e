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

netx::task<client_response> gateway_error_handler::handle(
    const client_request& req, const core::failure& failure, request_record& record) {
    const bool timeout = failure.kind == core::failure_kind::timeout;
    auto res = make_json_response(
        timeout ? http::status::gateway_timeout : http::status::bad_gateway,
        std::string(R"({"error":")") + std::string(core::to_string(failure.kind)) +
            R"(","request_id":")" + record.id.str() + "\"}",
        req.version(), req.keep_alive());
    res.set("X-Request-Id", record.id.view());
    co_return res;
}

}  // namespace spillway::proxy
