// The environment overrides (DESIGN.md, "Configuration"): each SPILLWAY_* variable replaces one
// key of the document before it is read, so a value from the environment is checked exactly as
// the same value in the file would be.

#include "spillway/config/config_json.hpp"
#include "spillway/config/object_reader.hpp"

#include <cerrno>
#include <cstdlib>

namespace spillway::config {

namespace {

using json = nlohmann::json;

void apply_env(json& doc, env_lookup env) {
    struct mapping {
        const char* variable;
        std::vector<std::string> path;
        bool integer;
    };
    const mapping mappings[] = {
        {"SPILLWAY_LISTEN", {"listen"}, false},
        {"SPILLWAY_BACKEND", {"backend", "url"}, false},
        {"SPILLWAY_KAFKA_BROKERS", {"kafka", "brokers"}, false},
        {"SPILLWAY_KAFKA_TOPIC", {"kafka", "topic"}, false},
        {"SPILLWAY_DLQ_TOPIC", {"replay", "dlq_topic"}, false},
        {"SPILLWAY_GROUP_ID", {"replay", "group_id"}, false},
        {"SPILLWAY_ADMIN_LISTEN", {"admin", "listen"}, false},
        {"SPILLWAY_SPOOL_DIR", {"spool", "dir"}, false},
        {"SPILLWAY_THREADS", {"threads"}, true},
        {"SPILLWAY_LOG_LEVEL", {"log", "level"}, false},
    };
    for (const auto& m : mappings) {
        auto value = env(m.variable);
        if (!value) {
            continue;
        }
        json* node = &doc;
        for (std::size_t i = 0; i + 1 < m.path.size(); ++i) {
            json& child = (*node)[m.path[i]];
            if (child.is_null()) {
                child = json::object();
            }
            if (!child.is_object()) {
                // Said as from_json would say it, not as nlohmann's type_error (tests/fuzz).
                fail(m.path[i], "expected an object");
            }
            node = &child;
        }
        if (m.integer) {
            char* end = nullptr;
            errno = 0;
            unsigned long n = std::strtoul(value->c_str(), &end, 10);
            if (value->empty() || *end != '\0' || errno != 0 || value->front() == '-') {
                fail(std::string(m.variable), "expected a non-negative integer");
            }
            (*node)[m.path.back()] = n;
        } else {
            (*node)[m.path.back()] = *value;
        }
    }
}

// SPILLWAY_BACKEND names the whole backend, so it replaces backend.endpoints as well as
// backend.url; a comma-separated list gives several endpoints. (apply_env already put the value
// in backend.url.)
void apply_backend_env(json& doc, env_lookup env) {
    const auto value = env("SPILLWAY_BACKEND");
    if (!value) {
        return;
    }
    json& backend = doc["backend"];  // an object: apply_env wrote backend.url into it
    backend.erase("endpoints");
    if (value->find(',') == std::string::npos) {
        return;
    }
    json list = json::array();
    std::size_t start = 0;
    for (;;) {
        const auto comma = value->find(',', start);
        auto item = value->substr(start, comma == std::string::npos ? comma : comma - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (item.empty()) {
            fail("SPILLWAY_BACKEND", "an empty item in the list of backend URLs");
        }
        list.push_back(item);
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    backend.erase("url");
    backend["endpoints"] = std::move(list);
}

}  // namespace

void apply_env_overrides(json& doc, env_lookup env) {
    apply_env(doc, env);
    apply_backend_env(doc, env);
}

}  // namespace spillway::config
