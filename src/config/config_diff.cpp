#include "spillway/config/config_diff.hpp"

#include "spillway/core/seal.hpp"

#include <algorithm>

namespace spillway::config {

namespace {

// One key: whether two configurations differ in it, and how to carry its value over.
struct key_rule {
    std::string_view name;
    bool (*differs)(const config& a, const config& b);
    void (*copy)(config& to, const config& from);
};

bool same(const host_port& a, const host_port& b) {
    return a.host == b.host && a.port == b.port && a.tls == b.tls;
}

bool same(const std::vector<host_port>& a, const std::vector<host_port>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const host_port& x, const host_port& y) { return same(x, y); });
}

bool same(const std::vector<netx::ip_prefix>& a, const std::vector<netx::ip_prefix>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const netx::ip_prefix& x, const netx::ip_prefix& y) {
                          return x.base == y.base && x.length == y.length;
                      });
}

template <class T>
bool same(const T& a, const T& b) {
    return a == b;
}

// The keys a file names, told apart by their ids: a key file rewritten in place is a change.
std::string key_ids(const config& c) {
    return c.capture.keys ? c.capture.keys->describe() : std::string();
}

bool admin_differs(const config& a, const config& b) {
    const bool same_listen = a.admin.listen.has_value() == b.admin.listen.has_value() &&
                             (!a.admin.listen || same(*a.admin.listen, *b.admin.listen));
    return a.admin.enabled != b.admin.enabled || !same_listen;
}

void copy_admin(config& to, const config& from) {
    to.admin = from.admin;
}

// The keys that share a field (the seal keys of both key-file settings) are copied together.
void copy_seal_keys(config& to, const config& from) {
    to.capture.seal_key_file = from.capture.seal_key_file;
    to.capture.open_key_files = from.capture.open_key_files;
    to.capture.keys = from.capture.keys;
}

bool seal_keys_differ(const config& a, const config& b) {
    return a.capture.seal_key_file != b.capture.seal_key_file ||
           a.capture.open_key_files != b.capture.open_key_files || key_ids(a) != key_ids(b);
}

void copy_backend_url(config& to, const config& from) {
    to.backend.url = from.backend.url;
    to.backend.address = from.backend.address;
}

// The listener's TLS keys change live only while it stays a TLS listener: turning TLS on or off
// changes what the workers accept, which needs a restart ("tls", below).
#define SPILLWAY_TLS_KEY(name, member)                                                     \
    key_rule {                                                                             \
        name,                                                                              \
            [](const config& a, const config& b) {                                         \
                return a.tls.enabled() && b.tls.enabled() && a.tls.member != b.tls.member; \
            },                                                                             \
            [](config& to, const config& from) { to.tls.member = from.tls.member; }        \
    }

bool tls_switched(const config& a, const config& b) {
    return a.tls.enabled() != b.tls.enabled();
}

// Kept as it runs only when switched: a certificate changed with TLS on is the keys above'.
void copy_tls_if_switched(config& to, const config& from) {
    if (tls_switched(to, from)) {
        to.tls = from.tls;
    }
}

#define SPILLWAY_KEY(name, member)                                                        \
    key_rule {                                                                            \
        name, [](const config& a, const config& b) { return !same(a.member, b.member); }, \
            [](config& to, const config& from) { to.member = from.member; }               \
    }

const std::vector<key_rule>& rules() {
    static const std::vector<key_rule> all{
        SPILLWAY_KEY("listen", listen),
        SPILLWAY_KEY("threads", threads),
        SPILLWAY_KEY("shutdown_timeout_ms", shutdown_timeout),
        SPILLWAY_KEY("health_path", health_path),
        {"backend.url",
         [](const config& a, const config& b) { return a.backend.url != b.backend.url; },
         copy_backend_url},
        SPILLWAY_KEY("backend.endpoints", backend.endpoints),
        SPILLWAY_KEY("backend.connect_timeout_ms", backend.connect_timeout),
        SPILLWAY_KEY("backend.response_timeout_ms", backend.response_timeout),
        SPILLWAY_KEY("backend.pool_max_idle", backend.pool_max_idle),
        SPILLWAY_KEY("backend.pool_idle_timeout_ms", backend.pool_idle_timeout),
        SPILLWAY_KEY("backend.tls.ca_file", backend.tls.ca_file),
        SPILLWAY_KEY("backend.tls.server_name", backend.tls.server_name),
        SPILLWAY_KEY("backend.tls.verify", backend.tls.verify),
        SPILLWAY_KEY("circuit_breaker.enabled", circuit_breaker.enabled),
        SPILLWAY_KEY("circuit_breaker.failure_threshold", circuit_breaker.failure_threshold),
        SPILLWAY_KEY("circuit_breaker.open_ms", circuit_breaker.open_duration),
        SPILLWAY_KEY("limits.max_header_bytes", limits.max_header_bytes),
        SPILLWAY_KEY("limits.header_timeout_ms", limits.header_timeout),
        SPILLWAY_KEY("limits.body_timeout_ms", limits.body_timeout),
        SPILLWAY_KEY("limits.idle_timeout_ms", limits.idle_timeout),
        SPILLWAY_KEY("limits.max_connections", limits.max_connections),
        SPILLWAY_KEY("limits.max_buffered_bytes", limits.max_buffered_bytes),
        SPILLWAY_KEY("rate_limit.requests_per_second", rate_limit.requests_per_second),
        SPILLWAY_KEY("rate_limit.burst", rate_limit.burst),
        SPILLWAY_KEY("rate_limit.trusted_proxies", rate_limit.trusted_proxies),
        SPILLWAY_KEY("rate_limit.max_clients", rate_limit.max_clients),
        SPILLWAY_KEY("capture.max_body_bytes", capture.max_body_bytes),
        SPILLWAY_KEY("capture.on", capture.on),
        SPILLWAY_KEY("capture.idempotency_header", capture.idempotency_header),
        SPILLWAY_KEY("capture.response_status", capture.response_status),
        SPILLWAY_KEY("capture.retry_after_s", capture.retry_after_s),
        SPILLWAY_KEY("capture.redact_headers", capture.redact_headers),
        SPILLWAY_KEY("capture.seal_headers", capture.seal_headers),
        {"capture.seal_key_file", seal_keys_differ, copy_seal_keys},
        SPILLWAY_KEY("capture.seal_body", capture.seal_body),
        SPILLWAY_KEY("kafka.brokers", kafka.brokers),
        SPILLWAY_KEY("kafka.topic", kafka.topic),
        SPILLWAY_KEY("kafka.key", kafka.key),
        SPILLWAY_KEY("kafka.delivery_timeout_ms", kafka.delivery_timeout),
        SPILLWAY_KEY("kafka.properties", kafka.properties),
        SPILLWAY_KEY("spool.dir", spool.dir),
        SPILLWAY_KEY("spool.max_bytes", spool.max_bytes),
        SPILLWAY_KEY("replay.group_id", replay.group_id),
        SPILLWAY_KEY("replay.dlq_topic", replay.dlq_topic),
        SPILLWAY_KEY("replay.concurrency", replay.concurrency),
        SPILLWAY_KEY("replay.rate_limit", replay.rate_limit),
        SPILLWAY_KEY("replay.adaptive", replay.adaptive),
        SPILLWAY_KEY("replay.max_redrives", replay.max_redrives),
        SPILLWAY_KEY("replay.max_attempts", replay.max_attempts),
        SPILLWAY_KEY("replay.backoff_initial_ms", replay.backoff_initial),
        SPILLWAY_KEY("replay.backoff_max_ms", replay.backoff_max),
        SPILLWAY_KEY("replay.probe_interval_ms", replay.probe_interval),
        SPILLWAY_KEY("replay.probe_path", replay.probe_path),
        {"admin.listen", admin_differs, copy_admin},
        {"tls", tls_switched, copy_tls_if_switched},
        SPILLWAY_TLS_KEY("tls.cert_file", cert_file),
        SPILLWAY_TLS_KEY("tls.key_file", key_file),
        SPILLWAY_TLS_KEY("tls.min_version", min_version),
        SPILLWAY_KEY("log.level", log.level),
        SPILLWAY_KEY("log.format", log.format),
        SPILLWAY_KEY("log.access_log", log.access_log),
    };
    return all;
}

#undef SPILLWAY_KEY
#undef SPILLWAY_TLS_KEY

bool starts_with(std::string_view key, std::string_view prefix) {
    return key.substr(0, prefix.size()) == prefix;
}

}  // namespace

reload_plan plan_reload(const config& running, const config& loaded,
                        const key_classifier& classify) {
    reload_plan plan{loaded, {}, {}};
    for (const auto& rule : rules()) {
        const auto cls = classify(rule.name);
        if (cls != key_class::live) {
            rule.copy(plan.effective, running);
        }
        if (!rule.differs(running, loaded)) {
            continue;
        }
        if (cls == key_class::live) {
            plan.applied.emplace_back(rule.name);
        } else if (cls == key_class::restart) {
            plan.ignored.emplace_back(rule.name);
        }
    }
    return plan;
}

bool keys_differ(const config& a, const config& b, std::string_view prefix) {
    return std::any_of(rules().begin(), rules().end(), [&](const key_rule& rule) {
        return starts_with(rule.name, prefix) && rule.differs(a, b);
    });
}

key_class proxy_key_class(std::string_view key) {
    for (std::string_view live :
         {"backend.", "capture.", "limits.", "circuit_breaker.", "rate_limit.", "tls."}) {
        if (starts_with(key, live)) {
            return key_class::live;
        }
    }
    if (key == "log.level" || key == "health_path" || key == "shutdown_timeout_ms") {
        return key_class::live;
    }
    if (starts_with(key, "replay.")) {
        return key_class::unused;
    }
    return key_class::restart;
}

key_class replay_key_class(std::string_view key) {
    if (key == "replay.concurrency" || key == "replay.rate_limit" || key == "log.level") {
        return key_class::live;
    }
    for (std::string_view unused : {"limits.", "rate_limit.", "circuit_breaker.",
                                    "backend.endpoints", "backend.pool_", "tls"}) {
        if (starts_with(key, unused)) {
            return key_class::unused;
        }
    }
    if (key == "listen" || key == "threads" || key == "health_path" ||
        key == "shutdown_timeout_ms" || key == "capture.on" || key == "capture.response_status" ||
        key == "capture.retry_after_s" ||
        key == "replay.max_redrives") {  // the last: spillway-ctl's
        return key_class::unused;
    }
    return key_class::restart;
}

std::string join_keys(const std::vector<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) {
        out += (out.empty() ? "" : ", ") + k;
    }
    return out;
}

}  // namespace spillway::config
