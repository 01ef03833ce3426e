#include "spillway/capture/capture_handler.hpp"

#include "spillway/capture/envelope_builder.hpp"
#include "spillway/runtime/logging.hpp"

namespace spillway::capture {

namespace http = boost::beast::http;

capture_handler::capture_handler(const config::config& cfg, durable_store& store)
    : cfg_(cfg), store_(store), upstream_(cfg.backend.address.to_string()) {}

netx::task<proxy::client_response> capture_handler::handle(const proxy::client_request& req,
                                                           const core::failure& failure,
                                                           proxy::request_record& record,
                                                           const config::capture_config& capture) {
    // The endpoint the forwarder tried last (several endpoints: docs/envelope.md).
    const std::string_view upstream = record.upstream.empty() ? upstream_ : record.upstream;
    const auto env = build_envelope(req, failure, record, capture, upstream);
    const sink where = co_await store_.store(make_record(env, req, cfg_.kafka), env.id);
    counters_.captured[static_cast<std::size_t>(failure.kind)][static_cast<std::size_t>(where)]
        .fetch_add(1, std::memory_order_relaxed);
    const bool queued = where != sink::none;
    record.queued = queued;

    const auto retry_after = std::to_string(capture.retry_after_s);
    std::string body = R"({"error":"backend_unavailable","queued":)";
    body += queued ? "true" : "false";
    body += R"(,"request_id":")";
    body += env.id;
    body += R"(","retry_after":)";
    body += retry_after;
    body += "}";
    auto res = proxy::make_json_response(static_cast<http::status>(capture.response_status),
                                         std::move(body), req.version(), req.keep_alive());
    res.set(http::field::retry_after, retry_after);
    res.set("X-Request-Id", env.id);
    co_return res;
}

}  // namespace spillway::capture
