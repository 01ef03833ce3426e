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

}  // namespace spillway::proxy
