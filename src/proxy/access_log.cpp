#include "spillway/core/text.hpp"
#include "spillway/proxy/request_record.hpp"
#include "spillway/runtime/logging.hpp"

#include <fmt/format.h>

namespace spillway::proxy {

std::string_view to_string(request_outcome outcome) {
    switch (outcome) {
        case request_outcome::proxied:
            return "proxied";
        case request_outcome::captured:
            return "captured";
        case request_outcome::rejected:
            return "rejected";
        case request_outcome::local:
            return "local";
        case request_outcome::aborted:
            return "aborted";
    }
    return "unknown";
}

void write_access_log(const request_record& r) {
    static const auto log = runtime::access_logger();
    if (!log->should_log(spdlog::level::info)) {
        return;
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r.start)
            .count();
    const std::string_view flags = r.failure        ? core::access_code(r.failure->kind)
                                   : r.rate_limited ? std::string_view("RL")
                                   : r.overloaded   ? std::string_view("LO")
                                                    : std::string_view("-");
    const std::string_view trace_id = r.trace.trace_id();
    std::string line;
    line.reserve(256);
    if (runtime::json_logs()) {
        line += "{\"client\":\"";
        core::append_json_escaped(line, r.client_ip);
        line += "\",\"method\":\"";
        core::append_json_escaped(line, r.method);
        line += "\",\"uri\":\"";
        core::append_json_escaped(line, r.target);
        fmt::format_to(std::back_inserter(line),
                       "\",\"http_version\":\"{}.{}\",\"status\":{},\"bytes\":{},"
                       "\"duration_ms\":{:.3f},\"request_id\":\"{}\",\"outcome\":\"{}\","
                       "\"flags\":\"{}\"",
                       r.http_version / 10, r.http_version % 10, r.status, r.response_bytes, ms,
                       r.id.view(), to_string(r.outcome), flags);
        if (r.failure) {
            line += ",\"failure\":\"";
            line += core::to_string(r.failure->kind);
            line += "\"";
        }
        if (r.queued) {
            line += *r.queued ? ",\"queued\":true" : ",\"queued\":false";
        }
        if (!trace_id.empty()) {
            line += ",\"trace_id\":\"";
            line += trace_id;  // 32 hex digits: nothing to escape
            line += "\"";
        }
        line += "}";
    } else {
        // The method and target came from the client: escaped, so neither can end the line (a
        // forged line after it) nor hold a quote that ends the request field early.
        line += r.client_ip;
        line += " \"";
        core::append_json_escaped(line, r.method);
        line += ' ';
        core::append_json_escaped(line, r.target);
        fmt::format_to(std::back_inserter(line),
                       " HTTP/{}.{}\" {} {} {:.3f}ms id={} outcome={} flags={}",
                       r.http_version / 10, r.http_version % 10, r.status, r.response_bytes, ms,
                       r.id.view(), to_string(r.outcome), flags);
        if (r.queued) {
            line += *r.queued ? " queued=true" : " queued=false";
        }
        line += " trace_id=";
        line += trace_id.empty() ? std::string_view("-") : trace_id;
    }
    log->info(line);
}

}  // namespace spillway::proxy
