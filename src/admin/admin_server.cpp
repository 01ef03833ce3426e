#include "spillway/admin/admin_server.hpp"

#include "spillway/core/text.hpp"
#include "spillway/http/small_server.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/system/system_error.hpp>

namespace spillway::admin {

namespace {

namespace http = boost::beast::http;

http::response<http::string_body> route(const http::request<http::string_body>& req,
                                        metrics::registry& metrics, const readiness_check& ready) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    const auto target = req.target();
    const auto path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.body() = R"({"error":"method_not_allowed"})";
    } else if (path == "/metrics") {
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = metrics.render();
    } else if (path == "/health") {
        res.body() = R"({"status":"ok"})";
    } else if (path == "/ready") {
        if (auto reason = ready()) {
            res.result(http::status::service_unavailable);
            std::string body = R"({"status":"not_ready","reason":")";
            core::append_json_escaped(body, *reason);
            res.body() = body + "\"}";
        } else {
            res.body() = R"({"status":"ready"})";
        }
    } else {
        res.result(http::status::not_found);
        res.body() = R"({"error":"not_found"})";
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) {
        res.body().clear();
    }
    return res;
}

}  // namespace

struct admin_server::impl {
    impl(config::host_port listen, metrics::registry& metrics, readiness_check ready)
        : host(listen.host),
          server(std::move(listen), {},
                 [&metrics, ready = std::move(ready)](const http::request<http::string_body>& req) {
                     return route(req, metrics, ready);
                 }) {}

    std::string host;  // for the log line
    http_util::small_server server;
};

admin_server::admin_server(config::host_port listen, metrics::registry& metrics,
                           readiness_check ready)
    : impl_(std::make_unique<impl>(std::move(listen), metrics, std::move(ready))) {}

admin_server::~admin_server() = default;  // the small server stops itself

void admin_server::start() {
    impl_->server.start();
    runtime::logger("admin")->info("admin listener on {}:{} (/metrics, /health, /ready)",
                                   impl_->host, port());
}

void admin_server::stop() {
    impl_->server.stop();  // open scrape connections are simply dropped
}

std::uint16_t admin_server::port() const {
    return impl_->server.port();
}

bool start_admin(admin_server& server, const config::config& cfg) {
    if (!cfg.admin.enabled) {
        runtime::logger("admin")->info("admin listener off (admin.listen \"off\")");
        return true;
    }
    try {
        server.start();
    } catch (const boost::system::system_error& e) {  // Asio's: not a std::system_error in 1.81
        if (cfg.admin.listen) {
            runtime::logger("admin")->critical("cannot listen on admin.listen {}: {}",
                                               cfg.admin.listen->to_string(), e.what());
            return false;
        }
        runtime::logger("admin")->warn(
            "admin listener not started, its default address is taken ({}); set admin.listen",
            e.what());
    }
    return true;
}

config::host_port admin_address(const config::config& cfg, std::uint16_t default_port) {
    return cfg.admin.listen.value_or(config::host_port{"127.0.0.1", default_port});
}

}  // namespace spillway::admin
