#pragma once
// What a reload (SIGHUP) changes: the running configuration against the one just loaded, key by
// key, each key classed by the binary that reloads. Pure: no I/O, no logging, so the rules of
// DESIGN.md "Configuration" are unit-tested here and the daemons only carry the plan out.
//
// Every key of config.hpp is listed in config_diff.cpp, with the name it has in the file
// ("backend.connect_timeout_ms"); a key added to config.hpp must be added there too (a key not
// listed keeps whatever the loaded file says, and is never reported).

#include "spillway/config/config.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace spillway::config {

// How a binary treats a change of one key.
enum class key_class {
    live,  // takes effect for new requests
    restart,  // needs a restart: logged as a warning, the key keeps its running value
    unused,  // the binary does not read it: not reported (the running value is kept)
};

// The binary's classes, by key name.
using key_classifier = std::function<key_class(std::string_view key)>;

struct reload_plan {
    config effective;  // what the binary runs with after the reload
    std::vector<std::string> applied;  // live keys whose value changed
    std::vector<std::string> ignored;  // changed keys that need a restart (kept as they were)

    bool changes_anything() const { return !applied.empty(); }
};

// The keys of `running` and `loaded` that differ, classed by `classify`: live ones take the
// loaded value, the others keep the running one.
reload_plan plan_reload(const config& running, const config& loaded,
                        const key_classifier& classify);

// The proxy's classes (DESIGN.md): backend.*, capture.*, limits.*, circuit_breaker.*,
// rate_limit.*, log.level, health_path, shutdown_timeout_ms and the TLS listener's files and
// version (tls.*) live; replay.* unused; the rest (listen, threads, admin.listen, kafka.*,
// spool.*, log.format, log.access_log, and "tls", turning TLS on or off) restart.
key_class proxy_key_class(std::string_view key);

// The replay consumer's: replay.concurrency, replay.rate_limit and log.level live; the proxy's
// own keys (limits, rate_limit, circuit_breaker, listen, threads, health_path, the capture
// answer, backend.endpoints, the proxy's backend pool settings and tls.*) unused; the rest restart,
// backend.url included (the replay's connection pool and its outage probe are bound to it).
key_class replay_key_class(std::string_view key);

// Whether any key whose name starts with `prefix` ("rate_limit.") differs.
bool keys_differ(const config& a, const config& b, std::string_view prefix);

// "a, b, c" (for the log line).
std::string join_keys(const std::vector<std::string>& keys);

}  // namespace spillway::config
