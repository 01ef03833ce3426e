// The configuration's entry points: parse() and load_file(), and the small types' methods.
// Reading the document is in config_json.cpp, the environment overrides in config_env.cpp.

#include "spillway/config/config.hpp"

#include "spillway/config/config_json.hpp"
#include "spillway/config/object_reader.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace spillway::config {

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
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(json_text, nullptr, true, /*ignore_comments=*/false);
    } catch (const nlohmann::json::exception& e) {
        // parse_error, and out_of_range for a number no double holds (1e309; tests/fuzz).
        throw config_error(std::string("(file): not valid JSON: ") + e.what());
    }
    if (doc.is_null()) {
        doc = nlohmann::json::object();
    }
    if (!doc.is_object()) {
        throw config_error("(top level): expected an object");
    }
    apply_env_overrides(doc, env);
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
