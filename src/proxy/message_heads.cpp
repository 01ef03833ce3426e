#include "spillway/proxy/message_heads.hpp"

#include "spillway/http/forwarded.hpp"

#include <charconv>

namespace spillway::proxy {

namespace {

using http_util::iequals;

bool method_expects_body(http::verb method) {
    return method == http::verb::post || method == http::verb::put || method == http::verb::patch;
}

}  // namespace

void append_header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

http_util::connection_filter connection_filter_of(const http::fields& fields) {
    http_util::connection_filter filter;
    for (const auto& f : fields) {
        if (f.name() == http::field::connection) {
            filter.add_connection_value(f.value());
        }
    }
    return filter;
}

std::optional<std::string_view> client_request_id(const client_request& req) {
    auto it = req.find("X-Request-Id");
    if (it == req.end()) {
        return std::nullopt;
    }
    return it->value();
}

void build_upstream_request_head(std::string& out, const client_request& req,
                                 const forward_context& ctx) {
    const auto filter = connection_filter_of(req);
    out.append(req.method_string());
    out.push_back(' ');
    out.append(req.target());
    out.append(" HTTP/1.1\r\n");

    http_util::forwarded_headers forwarded;
    bool has_request_id = false;
    bool has_idempotency_key = false;
    for (const auto& f : req) {
        const auto name = f.name_string();
        if (f.name() == http::field::content_length || f.name() == http::field::expect) {
            continue;  // the length is set below; the proxy answered 100-continue itself
        }
        if (f.name() == http::field::host) {
            // Sent whatever Connection lists: "Connection: Host" must not take away the one
            // field an HTTP/1.1 request cannot go without (found by tests/fuzz).
            forwarded.take(name, f.value());
            append_header(out, name, f.value());
            continue;
        }
        // Before anything is noted: a header the client named in Connection was never sent, and
        // the envelope leaves it out too, so the replay derives the same X-Forwarded-For.
        if (filter.drops(name)) {
            continue;
        }
        // Any name may be configured, a field Beast knows too: not only in the unknown branch.
        has_idempotency_key = has_idempotency_key || (!ctx.idempotency_header.empty() &&
                                                      iequals(name, ctx.idempotency_header));
        if (f.name() == http::field::unknown) {
            if (forwarded.take(name, f.value())) {
                continue;  // replaced below with what this hop saw
            }
            has_request_id = has_request_id || iequals(name, "x-request-id");
            if (!ctx.traceparent.empty() &&
                (iequals(name, "traceparent") || iequals(name, "tracestate"))) {
                continue;  // invalid: replaced by the generated traceparent below
            }
        }
        append_header(out, name, f.value());
    }
    if (!forwarded.has_host()) {
        append_header(out, "Host", ctx.backend_host);
    }
    forwarded.emit(
        ctx.client_ip, ctx.scheme,
        [&out](std::string_view name, std::string_view value) { append_header(out, name, value); });
    if (!has_idempotency_key && !ctx.idempotency_header.empty()) {
        append_header(out, ctx.idempotency_header, ctx.request_id);
    }
    if (!has_request_id) {
        append_header(out, "X-Request-Id", ctx.request_id);
    }
    if (!ctx.traceparent.empty()) {
        append_header(out, "traceparent", ctx.traceparent);
    }
    if (!ctx.upgrade.empty()) {
        append_header(out, "Connection", "Upgrade");
        append_header(out, "Upgrade", ctx.upgrade);
    }
    if (!req.body().empty() || method_expects_body(req.method())) {
        out.append("Content-Length: ");
        append_number(out, req.body().size());
        out.append("\r\n");
    }
    out.append("\r\n");
}

}  // namespace spillway::proxy
