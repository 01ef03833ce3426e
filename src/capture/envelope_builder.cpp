#include "spillway/capture/envelope_builder.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/core/seal.hpp"
#include "spillway/http/hop_by_hop.hpp"

namespace spillway::capture {

namespace {

using http_util::iequals;
namespace http = boost::beast::http;

bool listed(std::string_view name, const std::vector<std::string>& names) {
    for (const auto& n : names) {
        if (iequals(name, n)) {
            return true;
        }
    }
    return false;
}

// What the envelope stores for one header value: redacted headers always as [REDACTED]; sealed
// headers sealed, bound to this envelope and the header's name (or redacted without a key).
std::string stored_value(std::string_view name, std::string_view value, std::string_view id,
                         const config::capture_config& cfg, const core::seal_key* key) {
    if (listed(name, cfg.redact_headers)) {
        return "[REDACTED]";
    }
    if (listed(name, cfg.seal_headers)) {
        return key != nullptr ? core::seal(*key, id, name, value) : "[REDACTED]";
    }
    return std::string(value);
}

// The wall-clock time the request arrived, from the steady start time kept on the hot path.
std::string received_at(const proxy::request_record& record) {
    const auto age = std::chrono::steady_clock::now() - record.start;
    return core::format_rfc3339(
        std::chrono::system_clock::now() -
        std::chrono::duration_cast<std::chrono::system_clock::duration>(age));
}

}  // namespace

envelope::envelope build_envelope(const proxy::client_request& req, const core::failure& failure,
                                  const proxy::request_record& record,
                                  const config::capture_config& cfg, std::string_view upstream) {
    envelope::envelope e;
    e.id = record.id.str();
    e.received_at = received_at(record);
    e.method = req.method_string();
    e.uri = req.target();
    e.http_version = req.version() == 10 ? "1.0" : "1.1";
    const core::seal_key* key = cfg.keys ? cfg.keys->sealing() : nullptr;
    http_util::connection_filter filter;
    for (const auto& f : req) {
        if (f.name() == http::field::connection) {
            filter.add_connection_value(f.value());
        }
    }
    auto add = [&](const http::fields::value_type& f) {
        const auto name = f.name_string();
        // The body is whole: its framing headers do not describe it any more. Host was sent
        // whatever Connection lists (message_heads.cpp), so it is kept for the replay too.
        if (f.name() == http::field::content_length || f.name() == http::field::expect ||
            (filter.drops(name) && f.name() != http::field::host)) {
            return;
        }
        e.headers.emplace_back(std::string(name), stored_value(name, f.value(), e.id, cfg, key));
    };
    if (record.header_order.size() ==
        static_cast<std::size_t>(std::distance(req.begin(), req.end()))) {
        for (const auto* f : record.header_order) {
            add(*f);  // the client's order, duplicates where they were
        }
    } else {
        for (const auto& f : req) {
            add(f);
        }
    }
    if (cfg.seal_body && key != nullptr) {
        e.body = core::seal(*key, e.id, core::sealed_body_name, req.body());
        e.body_sealed = true;
    } else {
        e.body = req.body();
    }
    e.client_ip = record.client_ip;
    e.scheme = record.scheme;
    e.upstream = upstream;
    e.failure = failure;
    e.attempts = 0;
    return e;
}

kafka::record make_record(const envelope::envelope& e, const proxy::client_request& req,
                          const config::kafka_config& cfg) {
    kafka::record r;
    r.topic = cfg.topic;
    if (cfg.key == "client_ip") {
        r.key = e.client_ip;
    } else if (cfg.key.rfind("header:", 0) == 0) {
        auto it = req.find(std::string_view(cfg.key).substr(7));
        r.key = it != req.end() ? std::string(it->value()) : e.id;
    } else {
        r.key = e.id;
    }
    r.value = envelope::to_json(e);
    r.headers = {{"spillway-id", e.id},
                 {"spillway-failure", std::string(core::to_string(e.failure.kind))}};
    return r;
}

}  // namespace spillway::capture
