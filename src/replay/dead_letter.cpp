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

kafka::record reduced_dead_letter(const kafka::record& refused, const std::string& why) {
    kafka::record r;
    r.topic = refused.topic;
    r.key = refused.key;
    std::string source = "?";
    for (const auto& h : refused.headers) {
        if (h.first == "spillway-source") {
            source = h.second;
        }
        if (h.first != "spillway-dlq-reason") {
            r.headers.push_back(h);
        }
    }
    json value = json::parse(refused.value, nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
        value = json::object();  // not ours: keep nothing of it but the dlq object below
    }
    std::size_t omitted = refused.value.size();
    for (const char* field : {"body", "raw"}) {
        if (auto it = value.find(field); it != value.end() && it->is_string()) {
            omitted = it->get_ref<const std::string&>().size();
            *it = "";
        }
    }
    if (value.contains("body_encoding")) {
        value["body_encoding"] = "utf8";
    }
    if (value.contains("raw_encoding")) {
        value["raw_encoding"] = "utf8";
    }
    json& dlq = value["dlq"];
    if (!dlq.is_object()) {
        dlq = json::object();
    }
    const std::string earlier = dlq.contains("reason") && dlq["reason"].is_string()
                                    ? dlq["reason"].get<std::string>()
                                    : std::string("dead letter");
    const std::string reason = earlier + "; body left out (" + std::to_string(omitted) +
                               " bytes): the dead-letter topic refused the whole record (" + why +
                               "); the whole record is at " + source;
    dlq["reason"] = reason;
    r.headers.emplace_back("spillway-dlq-reason", reason);
    r.headers.emplace_back("spillway-dlq-body-omitted", std::to_string(omitted));
    r.value = value.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
}

std::string message_id(std::string_view value) {
    const json parsed = json::parse(value, nullptr, false);
    if (parsed.is_object()) {
        if (auto id = parsed.find("id"); id != parsed.end() && id->is_string()) {
            return id->get<std::string>();
        }
    }
    return {};
}

}  // namespace spillway::replay
