#include "spillway/config/config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

namespace spillway::config {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& key, const std::string& what) {
    throw config_error(key + ": " + what);
}

// Reads one JSON object, remembers which keys were read, and rejects the rest as unknown.
class object_reader {
public:
    object_reader(const json& object, std::string path) : object_(object), path_(std::move(path)) {
        if (!object_.is_object()) {
            fail(path_.empty() ? "(top level)" : path_, "expected an object");
        }
    }

    std::string key(const std::string& name) const {
        return path_.empty() ? name : path_ + "." + name;
    }

    // Returns the value of `name` if present (and not null), marking it as known.
    const json* find(const std::string& name) {
        known_.insert(name);
        auto it = object_.find(name);
        if (it == object_.end() || it->is_null()) {
            return nullptr;
        }
        return &*it;
    }

    void read(const std::string& name, std::string& out) {
        if (const json* v = find(name)) {
            if (!v->is_string()) {
                fail(key(name), "expected a string");
            }
            out = v->get<std::string>();
        }
    }

    void read(const std::string& name, bool& out) {
        if (const json* v = find(name)) {
            if (!v->is_boolean()) {
                fail(key(name), "expected true or false");
            }
            out = v->get<bool>();
        }
    }

    void read(const std::string& name, double& out) {
        if (const json* v = find(name)) {
            if (!v->is_number()) {
                fail(key(name), "expected a number");
            }
            out = v->get<double>();
            if (out < 0) {
                fail(key(name), "must not be negative");
            }
        }
    }

    template <class Unsigned>
        requires std::is_unsigned_v<Unsigned>
    void read(const std::string& name, Unsigned& out) {
        if (const json* v = find(name)) {
            out = static_cast<Unsigned>(unsigned_value(name, *v, std::numeric_limits<Unsigned>::max()));
        }
    }

    void read(const std::string& name, milliseconds& out) {
        if (const json* v = find(name)) {
            out = milliseconds(unsigned_value(name, *v, std::numeric_limits<std::int32_t>::max()));
        }
    }

    void read(const std::string& name, std::vector<std::string>& out) {
        if (const json* v = find(name)) {
            if (!v->is_array()) {
                fail(key(name), "expected an array of strings");
            }
            out.clear();
            for (const auto& item : *v) {
                if (!item.is_string()) {
                    fail(key(name), "expected an array of strings");
                }
                out.push_back(item.get<std::string>());
            }
        }
    }

    void read(const std::string& name, std::vector<unsigned>& out) {
        if (const json* v = find(name)) {
            if (!v->is_array()) {
                fail(key(name), "expected an array of integers");
            }
            out.clear();
            for (const auto& item : *v) {
                out.push_back(static_cast<unsigned>(unsigned_value(name, item, 0xffff)));
            }
        }
    }

    void read(const std::string& name, std::map<std::string, std::string>& out) {
        if (const json* v = find(name)) {
            if (!v->is_object()) {
                fail(key(name), "expected an object of strings");
            }
            out.clear();
            for (const auto& [k, item] : v->items()) {
                if (!item.is_string()) {
                    fail(key(name) + "." + k, "expected a string");
                }
                out[k] = item.get<std::string>();
            }
        }
    }

    // Hands a nested object to `section`, which reads it with its own reader.
    template <class Section>
    void section(const std::string& name, Section&& section) {
        if (const json* v = find(name)) {
            object_reader nested(*v, key(name));
            section(nested);
            nested.finish();
        }
    }

    void finish() const {
        for (const auto& [name, value] : object_.items()) {
            if (!known_.contains(name)) {
                fail(key(name), "unknown key");
            }
        }
    }

private:
    std::uint64_t unsigned_value(const std::string& name, const json& v, std::uint64_t max) const {
        if (!v.is_number_unsigned()) {  // negative integers parse as signed, fractions as floats
            fail(key(name), "expected a non-negative integer");
        }
        auto n = v.get<std::uint64_t>();
        if (n > max) {
            fail(key(name), "must be at most " + std::to_string(max));
        }
        return n;
    }

    const json& object_;
    std::string path_;
    std::set<std::string> known_;
};

void require(bool ok, const std::string& key, const std::string& what) {
    if (!ok) {
        fail(key, what);
    }
}

host_port parse_backend_url(const std::string& key, const std::string& url) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0) {
        fail(key, "expected http://host:port (only plain http backends are supported)");
    }
    std::string rest = url.substr(scheme.size());
    while (!rest.empty() && rest.back() == '/') {
        rest.pop_back();
    }
    if (rest.empty() || rest.find('/') != std::string::npos) {
        fail(key, "expected http://host:port with no path");
    }
    if (rest.find(':') == std::string::npos || (rest.front() == '[' && rest.back() == ']')) {
        rest += ":80";
    }
    return parse_host_port(key, rest);
}

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

// backend.endpoints (several endpoints, round-robin) and backend.url (one): the proxy uses the
// list when it is given, else the url. The url stays the replay consumer's single target; when
// only the list is given, that is its first endpoint.
void apply_endpoints(backend_config& backend, const std::vector<std::string>& urls,
                     bool url_given) {
    if (urls.empty()) {
        backend.endpoints = {backend.address};
        return;
    }
    backend.endpoints.clear();
    for (std::size_t i = 0; i < urls.size(); ++i) {
        const std::string key = "backend.endpoints[" + std::to_string(i) + "]";
        const auto address = parse_backend_url(key, urls[i]);
        for (std::size_t j = 0; j < backend.endpoints.size(); ++j) {
            const auto& other = backend.endpoints[j];
            require(other.host != address.host || other.port != address.port, key,
                    "the same endpoint as backend.endpoints[" + std::to_string(j) + "]");
        }
        backend.endpoints.push_back(address);
    }
    if (!url_given) {
        backend.address = backend.endpoints.front();
        backend.url = "http://" + backend.address.to_string();
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
    json& backend = doc["backend"];
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

config from_json(const json& doc) {
    config c;
    object_reader top(doc, "");

    std::string listen = c.listen.to_string();
    top.read("listen", listen);
    c.listen = parse_host_port("listen", listen);
    top.read("threads", c.threads);
    require(c.threads <= 1024, "threads", "must be at most 1024");
    top.read("shutdown_timeout_ms", c.shutdown_timeout);
    top.read("health_path", c.health_path);
    require(c.health_path.empty() || c.health_path.front() == '/', "health_path",
            "must start with / (or be empty to turn it off)");

    std::vector<std::string> endpoint_urls;
    bool url_given = false;
    top.section("backend", [&](object_reader& r) {
        url_given = r.find("url") != nullptr;
        r.read("endpoints", endpoint_urls);
        r.read("url", c.backend.url);
        r.read("connect_timeout_ms", c.backend.connect_timeout);
        r.read("response_timeout_ms", c.backend.response_timeout);
        r.read("pool_max_idle", c.backend.pool_max_idle);
        r.read("pool_idle_timeout_ms", c.backend.pool_idle_timeout);
        require(c.backend.connect_timeout.count() > 0, r.key("connect_timeout_ms"), "must be positive");
        require(c.backend.response_timeout.count() > 0, r.key("response_timeout_ms"), "must be positive");
    });
    c.backend.address = parse_backend_url("backend.url", c.backend.url);
    apply_endpoints(c.backend, endpoint_urls, url_given);

    top.section("circuit_breaker", [&](object_reader& r) {
        r.read("enabled", c.circuit_breaker.enabled);
        r.read("failure_threshold", c.circuit_breaker.failure_threshold);
        r.read("open_ms", c.circuit_breaker.open_duration);
        require(c.circuit_breaker.failure_threshold >= 1 &&
                    c.circuit_breaker.failure_threshold <= 1000000,
                r.key("failure_threshold"), "must be 1..1000000");
        require(c.circuit_breaker.open_duration.count() > 0, r.key("open_ms"), "must be positive");
    });

    top.section("limits", [&](object_reader& r) {
        r.read("max_header_bytes", c.limits.max_header_bytes);
        r.read("header_timeout_ms", c.limits.header_timeout);
        r.read("body_timeout_ms", c.limits.body_timeout);
        r.read("idle_timeout_ms", c.limits.idle_timeout);
        r.read("max_connections", c.limits.max_connections);
        require(c.limits.max_header_bytes >= 1024, r.key("max_header_bytes"), "must be at least 1024");
        require(c.limits.max_connections > 0, r.key("max_connections"), "must be positive");
        require(c.limits.header_timeout.count() > 0, r.key("header_timeout_ms"), "must be positive");
        require(c.limits.body_timeout.count() > 0, r.key("body_timeout_ms"), "must be positive");
        require(c.limits.idle_timeout.count() > 0, r.key("idle_timeout_ms"), "must be positive");
    });

    top.section("rate_limit", [&](object_reader& r) {
        r.read("requests_per_second", c.rate_limit.requests_per_second);
        r.read("burst", c.rate_limit.burst);
        r.read("max_clients", c.rate_limit.max_clients);
        std::vector<std::string> trusted;
        r.read("trusted_proxies", trusted);
        for (const auto& text : trusted) {
            auto prefix = netx::parse_ip_prefix(text);
            require(prefix.has_value(), r.key("trusted_proxies"),
                    "\"" + text + "\" is not an IP address or a CIDR prefix such as 10.0.0.0/8");
            c.rate_limit.trusted_proxies.push_back(*prefix);
        }
        require(c.rate_limit.requests_per_second <= 1e6, r.key("requests_per_second"),
                "must be at most 1000000");
        require(c.rate_limit.burst <= 1000000, r.key("burst"), "must be at most 1000000");
        require(c.rate_limit.max_clients >= 64, r.key("max_clients"), "must be at least 64");
    });

    top.section("capture", [&](object_reader& r) {
        r.read("max_body_bytes", c.capture.max_body_bytes);
        r.read("on", c.capture.on);
        r.read("response_status", c.capture.response_status);
        r.read("retry_after_s", c.capture.retry_after_s);
        r.read("redact_headers", c.capture.redact_headers);
        for (unsigned status : c.capture.on) {
            require(status >= 100 && status <= 599, r.key("on"), "statuses must be 100..599");
        }
        require(c.capture.response_status >= 400 && c.capture.response_status <= 599,
                r.key("response_status"), "must be 400..599");
    });

    top.section("kafka", [&](object_reader& r) {
        r.read("brokers", c.kafka.brokers);
        r.read("topic", c.kafka.topic);
        r.read("key", c.kafka.key);
        r.read("delivery_timeout_ms", c.kafka.delivery_timeout);
        r.read("properties", c.kafka.properties);
        require(!c.kafka.brokers.empty(), r.key("brokers"), "must not be empty");
        require(!c.kafka.topic.empty(), r.key("topic"), "must not be empty");
        require(c.kafka.key == "id" || c.kafka.key == "client_ip" ||
                    (c.kafka.key.rfind("header:", 0) == 0 && c.kafka.key.size() > 7),
                r.key("key"), "expected id, client_ip or header:<Name>");
        require(c.kafka.delivery_timeout.count() > 0, r.key("delivery_timeout_ms"), "must be positive");
    });
    // The defaults stand when the file has no kafka section, so this check is outside it.
    require(!c.kafka.brokers.empty(), "kafka.brokers", "must not be empty");

    top.section("spool", [&](object_reader& r) {
        r.read("dir", c.spool.dir);
        r.read("max_bytes", c.spool.max_bytes);
        require(!c.spool.dir.empty(), r.key("dir"), "must not be empty");
    });

    top.section("replay", [&](object_reader& r) {
        r.read("group_id", c.replay.group_id);
        r.read("dlq_topic", c.replay.dlq_topic);
        r.read("concurrency", c.replay.concurrency);
        r.read("rate_limit", c.replay.rate_limit);
        r.read("max_attempts", c.replay.max_attempts);
        r.read("backoff_initial_ms", c.replay.backoff_initial);
        r.read("backoff_max_ms", c.replay.backoff_max);
        r.read("probe_interval_ms", c.replay.probe_interval);
        require(!c.replay.group_id.empty(), r.key("group_id"), "must not be empty");
        require(!c.replay.dlq_topic.empty(), r.key("dlq_topic"), "must not be empty");
        require(c.replay.concurrency >= 1 && c.replay.concurrency <= 4096, r.key("concurrency"),
                "must be 1..4096");
        require(c.replay.max_attempts >= 1, r.key("max_attempts"), "must be at least 1");
        require(c.replay.backoff_initial.count() > 0, r.key("backoff_initial_ms"), "must be positive");
        require(c.replay.backoff_max >= c.replay.backoff_initial, r.key("backoff_max_ms"),
                "must be at least backoff_initial_ms");
        require(c.replay.probe_interval.count() > 0, r.key("probe_interval_ms"), "must be positive");
    });

    top.section("admin", [&](object_reader& r) {
        std::string listen;
        r.read("listen", listen);
        if (listen == "off") {
            c.admin.enabled = false;
        } else if (!listen.empty()) {
            c.admin.listen = parse_host_port(r.key("listen"), listen);
        }
    });

    top.section("log", [&](object_reader& r) {
        r.read("level", c.log.level);
        r.read("format", c.log.format);
        r.read("access_log", c.log.access_log);
        static const std::set<std::string> levels{"trace", "debug", "info", "warn",
                                                  "error", "critical", "off"};
        require(levels.contains(c.log.level), r.key("level"),
                "expected one of trace, debug, info, warn, error, critical, off");
        require(c.log.format == "text" || c.log.format == "json", r.key("format"),
                "expected text or json");
    });

    top.finish();
    return c;
}

}  // namespace

std::string host_port::to_string() const {
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + std::to_string(port);
    }
    return host + ":" + std::to_string(port);
}

double rate_limit_config::effective_burst() const {
    return burst > 0 ? burst : std::max(1.0, std::ceil(requests_per_second));
}

unsigned config::worker_threads() const {
    if (threads != 0) {
        return threads;
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

std::optional<std::string> process_env(const char* name) {
    if (const char* v = std::getenv(name)) {
        return std::string(v);
    }
    return std::nullopt;
}

host_port parse_host_port(const std::string& key, const std::string& text) {
    host_port hp;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            fail(key, "expected [ipv6]:port, got \"" + text + "\"");
        }
        hp.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) {
            fail(key, "expected host:port, got \"" + text + "\"");
        }
        hp.host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (hp.host.empty()) {
        fail(key, "expected host:port, the host is missing in \"" + text + "\"");
    }
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
        std::stoul(port) > 65535) {
        fail(key, "expected a port 0..65535 in \"" + text + "\"");
    }
    hp.port = static_cast<std::uint16_t>(std::stoul(port));
    return hp;
}

config parse(const std::string& json_text, env_lookup env) {
    json doc;
    try {
        doc = json::parse(json_text, nullptr, true, /*ignore_comments=*/false);
    } catch (const json::parse_error& e) {
        throw config_error(std::string("(file): not valid JSON: ") + e.what());
    }
    if (doc.is_null()) {
        doc = json::object();
    }
    if (!doc.is_object()) {
        throw config_error("(top level): expected an object");
    }
    apply_env(doc, env);
    apply_backend_env(doc, env);
    return from_json(doc);
}

config load_file(const std::string& path, env_lookup env) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw config_error(path + ": cannot read the configuration file");
    }
    std::ostringstream text;
    text << in.rdbuf();
    try {
        return parse(text.str(), env);
    } catch (const config_error& e) {
        throw config_error(path + ": " + e.what());
    }
}

}  // namespace spillway::config
