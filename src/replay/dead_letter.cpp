#include "spillway/replay/dead_letter.hpp"

#include <nlohmann/json.hpp>

namespace spillway::replay {

namespace {

using json = nlohmann::json;

json dlq_json(const envelope::dlq_info& info) {
    json d = {{"reason", info.reason}, {"attempts", info.attempts}, {"at", info.at}};
    d["last_status"] = info.last_status ? json(*info.last_status) : json(nullptr);
    return d;
}

void add_source_headers(kafka::record& r, const source_position& from, const std::string& reason) {
    r.headers.emplace_back("spillway-dlq-reason", reason);
    r.headers.emplace_back("spillway-source", from.topic + "/" + std::to_string(from.partition) +
                                                  "/" + std::to_string(from.offset));
}

}  // namespace

kafka::record dead_letter_envelope(envelope::envelope e, envelope::dlq_info info,
                                   const source_position& from, const std::string& dlq_topic) {
    kafka::record r;
    r.topic = dlq_topic;
    r.key = from.key.empty() ? e.id : from.key;
    e.attempts = std::max(e.attempts, info.attempts);
    r.headers.emplace_back("spillway-id", e.id);
    r.headers.emplace_back("spillway-failure", std::string(core::to_string(e.failure.kind)));
    add_source_headers(r, from, info.reason);
    e.dlq = std::move(info);
    r.value = envelope::to_json(e);
    return r;
}

kafka::record dead_letter_raw(std::string_view raw, envelope::dlq_info info,
                              const source_position& from, const std::string& dlq_topic) {
    kafka::record r;
    r.topic = dlq_topic;
    r.key = from.key;
    add_source_headers(r, from, info.reason);
    json value = json::parse(raw, nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
        value = json::object();
        bool utf8 = envelope::is_valid_utf8(raw);
        value["raw"] = utf8 ? std::string(raw) : envelope::base64_encode(raw);
        value["raw_encoding"] = utf8 ? "utf8" : "base64";
    } else if (auto id = value.find("id"); id != value.end() && id->is_string()) {
        r.headers.emplace_back("spillway-id", id->get<std::string>());
    }
    value["dlq"] = dlq_json(info);
    // Replacement instead of an exception for anything the input smuggled in as invalid UTF-8.
    r.value = value.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
}

}  // namespace spillway::replay
