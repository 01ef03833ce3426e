// Reading the document into a config, one function per section in the order of
// config/spillway.json; each validates what it read and names the key on error.

#include "spillway/config/config_json.hpp"

#include "spillway/config/kafka_guard.hpp"
#include "spillway/config/object_reader.hpp"
#include "spillway/core/text.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <set>

namespace spillway::config {

namespace {

using json = nlohmann::json;

// http://host[:port] (port 80) or https://host[:port] (port 443, TLS: backend.tls).
host_port parse_backend_url(const std::string& key, const std::string& url) {
    const bool tls = url.rfind("https://", 0) == 0;
    if (!tls && url.rfind("http://", 0) != 0) {
        fail(key, "expected http://host:port or https://host:port");
    }
    std::string rest = url.substr(tls ? 8 : 7);
    while (!rest.empty() && rest.back() == '/') {
        rest.pop_back();
    }
    if (rest.empty() || rest.find('/') != std::string::npos) {
        fail(key, "expected http(s)://host:port with no path");
    }
    if (rest.find(':') == std::string::npos || (rest.front() == '[' && rest.back() == ']')) {
        rest += tls ? ":443" : ":80";
    }
    auto address = parse_host_port(key, rest);
    address.tls = tls;
    return address;
}

// A CA file must hold at least one PEM certificate that parses: found now (exit 2 naming the
// key), not as every request to an https backend failing its handshake.
void check_ca_file(const std::string& key, const std::string& path) {
    std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_file(path.c_str(), "r"), &BIO_free);
    if (!in) {
        ERR_clear_error();
        fail(key, "cannot read " + path);
    }
    int certificates = 0;
    while (X509* cert = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
        X509_free(cert);
        ++certificates;
    }
    ERR_clear_error();  // the end of the file reads as an error too
    require(certificates > 0, key, "no PEM certificate in " + path);
}

void read_backend_tls(object_reader& r, backend_tls_config& t) {
    r.read("ca_file", t.ca_file);
    r.read("server_name", t.server_name);
    r.read("verify", t.verify);
    if (!t.ca_file.empty()) {
        check_ca_file(r.key("ca_file"), t.ca_file);
    }
}

// The top-level keys that are not sections.
void read_top_level(object_reader& top, config& c) {
    std::string listen = c.listen.to_string();
    top.read("listen", listen);
    c.listen = parse_host_port("listen", listen);
    top.read("threads", c.threads);
    require(c.threads <= 1024, "threads", "must be at most 1024");
    top.read("shutdown_timeout_ms", c.shutdown_timeout);
    top.read("health_path", c.health_path);
    require(c.health_path.empty() || c.health_path.front() == '/', "health_path",
            "must start with / (or be empty to turn it off)");
}

// tls.*: both files or neither; whether they load (and match) is checked when the listener
// starts, where the key that is wrong is named too.
void read_tls(object_reader& r, tls_config& t) {
    r.read("cert_file", t.cert_file);
    r.read("key_file", t.key_file);
    r.read("min_version", t.min_version);
    require(t.key_file.empty() || !t.cert_file.empty(), r.key("cert_file"),
            "required with tls.key_file");
    require(t.cert_file.empty() || !t.key_file.empty(), r.key("key_file"),
            "required with tls.cert_file");
    require(t.min_version == "1.2" || t.min_version == "1.3", r.key("min_version"),
            "expected \"1.2\" or \"1.3\"");
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
        backend.url = (backend.address.tls ? "https://" : "http://") + backend.address.to_string();
    }
}

void read_backend(object_reader& top, backend_config& b) {
    std::vector<std::string> endpoint_urls;
    bool url_given = false;
    top.section("backend", [&](object_reader& r) {
        url_given = r.find("url") != nullptr;
        r.read("endpoints", endpoint_urls);
        r.read("url", b.url);
        r.read("connect_timeout_ms", b.connect_timeout);
        r.read("response_timeout_ms", b.response_timeout);
        r.read("pool_max_idle", b.pool_max_idle);
        r.read("pool_idle_timeout_ms", b.pool_idle_timeout);
        r.section("tls", [&](object_reader& t) { read_backend_tls(t, b.tls); });
        require(b.connect_timeout.count() > 0, r.key("connect_timeout_ms"), "must be positive");
        require(b.response_timeout.count() > 0, r.key("response_timeout_ms"), "must be positive");
    });
    b.address = parse_backend_url("backend.url", b.url);
    apply_endpoints(b, endpoint_urls, url_given);
}

void read_circuit_breaker(object_reader& r, circuit_breaker_config& cb) {
    r.read("enabled", cb.enabled);
    r.read("failure_threshold", cb.failure_threshold);
    r.read("open_ms", cb.open_duration);
    require(cb.failure_threshold >= 1 && cb.failure_threshold <= 1000000,
            r.key("failure_threshold"), "must be 1..1000000");
    require(cb.open_duration.count() > 0, r.key("open_ms"), "must be positive");
}

void read_limits(object_reader& r, limits_config& l) {
    r.read("max_header_bytes", l.max_header_bytes);
    r.read("header_timeout_ms", l.header_timeout);
    r.read("body_timeout_ms", l.body_timeout);
    r.read("idle_timeout_ms", l.idle_timeout);
    r.read("max_connections", l.max_connections);
    r.read("max_buffered_bytes", l.max_buffered_bytes);
    require(l.max_header_bytes >= 1024, r.key("max_header_bytes"), "must be at least 1024");
    require(l.max_connections > 0, r.key("max_connections"), "must be positive");
    require(l.max_buffered_bytes >= 1024 * 1024, r.key("max_buffered_bytes"),
            "must be at least 1048576");
    require(l.header_timeout.count() > 0, r.key("header_timeout_ms"), "must be positive");
    require(l.body_timeout.count() > 0, r.key("body_timeout_ms"), "must be positive");
    require(l.idle_timeout.count() > 0, r.key("idle_timeout_ms"), "must be positive");
}

void read_rate_limit(object_reader& r, rate_limit_config& rl) {
    r.read("requests_per_second", rl.requests_per_second);
    r.read("burst", rl.burst);
    r.read("max_clients", rl.max_clients);
    std::vector<std::string> trusted;
    r.read("trusted_proxies", trusted);
    for (const auto& text : trusted) {
        auto prefix = netx::parse_ip_prefix(text);
        require(prefix.has_value(), r.key("trusted_proxies"),
                "\"" + text + "\" is not an IP address or a CIDR prefix such as 10.0.0.0/8");
        rl.trusted_proxies.push_back(*prefix);
    }
    require(rl.requests_per_second <= 1e6, r.key("requests_per_second"), "must be at most 1000000");
    require(rl.burst <= 1000000, r.key("burst"), "must be at most 1000000");
    require(rl.max_clients >= 64, r.key("max_clients"), "must be at least 64");
}

void read_capture(object_reader& r, capture_config& cap) {
    r.read("max_body_bytes", cap.max_body_bytes);
    r.read("on", cap.on);
    r.read("idempotency_header", cap.idempotency_header);
    require(cap.idempotency_header.empty() || core::is_token(cap.idempotency_header),
            r.key("idempotency_header"), "expected a header name (or \"\" for none)");
    r.read("response_status", cap.response_status);
    r.read("retry_after_s", cap.retry_after_s);
    r.read("redact_headers", cap.redact_headers);
    r.read("seal_headers", cap.seal_headers);
    r.read("seal_key_file", cap.seal_key_file);
    r.read("open_key_files", cap.open_key_files);
    r.read("seal_body", cap.seal_body);
    for (const auto& name : cap.seal_headers) {
        require(core::is_token(name), r.key("seal_headers"),
                "\"" + name + "\" is not a header name");
    }
    for (unsigned status : cap.on) {
        require(status >= 100 && status <= 599, r.key("on"), "statuses must be 100..599");
    }
    require(cap.response_status >= 400 && cap.response_status <= 599, r.key("response_status"),
            "must be 400..599");
}

void read_kafka(object_reader& r, kafka_config& k) {
    r.read("brokers", k.brokers);
    r.read("topic", k.topic);
    r.read("key", k.key);
    r.read("delivery_timeout_ms", k.delivery_timeout);
    r.read("properties", k.properties);
    check_kafka_properties(k.properties);
    check_kafka_features(k.properties);
    require(!k.brokers.empty(), r.key("brokers"), "must not be empty");
    require(!k.topic.empty(), r.key("topic"), "must not be empty");
    require(k.key == "id" || k.key == "client_ip" ||
                (k.key.rfind("header:", 0) == 0 && k.key.size() > 7),
            r.key("key"), "expected id, client_ip or header:<Name>");
    require(k.delivery_timeout.count() > 0, r.key("delivery_timeout_ms"), "must be positive");
}

void read_spool(object_reader& r, spool_config& s) {
    r.read("dir", s.dir);
    r.read("max_bytes", s.max_bytes);
    require(!s.dir.empty(), r.key("dir"), "must not be empty");
}

void read_replay(object_reader& r, replay_config& rp) {
    r.read("group_id", rp.group_id);
    r.read("dlq_topic", rp.dlq_topic);
    r.read("concurrency", rp.concurrency);
    r.read("adaptive", rp.adaptive);
    r.read("rate_limit", rp.rate_limit);
    r.read("max_attempts", rp.max_attempts);
    r.read("max_redrives", rp.max_redrives);
    r.read("backoff_initial_ms", rp.backoff_initial);
    r.read("backoff_max_ms", rp.backoff_max);
    r.read("probe_interval_ms", rp.probe_interval);
    r.read("probe_path", rp.probe_path);
    require(!rp.group_id.empty(), r.key("group_id"), "must not be empty");
    require(!rp.dlq_topic.empty(), r.key("dlq_topic"), "must not be empty");
    require(rp.concurrency >= 1 && rp.concurrency <= 4096, r.key("concurrency"), "must be 1..4096");
    require(rp.max_attempts >= 1, r.key("max_attempts"), "must be at least 1");
    require(rp.backoff_initial.count() > 0, r.key("backoff_initial_ms"), "must be positive");
    require(rp.backoff_max >= rp.backoff_initial, r.key("backoff_max_ms"),
            "must be at least backoff_initial_ms");
    require(rp.probe_interval.count() > 0, r.key("probe_interval_ms"), "must be positive");
    // It goes on the request line as is: an origin-form target, nothing that could split it.
    require(!rp.probe_path.empty() && rp.probe_path.front() == '/', r.key("probe_path"),
            "must start with /");
    require(std::none_of(rp.probe_path.begin(), rp.probe_path.end(),
                         [](unsigned char c) { return c <= ' ' || c == 0x7f; }),
            r.key("probe_path"), "must not contain spaces or control characters");
}

void read_admin(object_reader& r, admin_config& a) {
    std::string listen;
    r.read("listen", listen);
    if (listen == "off") {
        a.enabled = false;
    } else if (!listen.empty()) {
        a.listen = parse_host_port(r.key("listen"), listen);
    }
}

void read_log(object_reader& r, log_config& l) {
    r.read("level", l.level);
    r.read("format", l.format);
    r.read("access_log", l.access_log);
    static const std::set<std::string> levels{"trace", "debug",    "info", "warn",
                                              "error", "critical", "off"};
    require(levels.contains(l.level), r.key("level"),
            "expected one of trace, debug, info, warn, error, critical, off");
    require(l.format == "text" || l.format == "json", r.key("format"), "expected text or json");
}

}  // namespace

config from_json(const json& doc) {
    config c;
    object_reader top(doc, "");
    read_top_level(top, c);
    top.section("tls", [&](object_reader& r) { read_tls(r, c.tls); });
    read_backend(top, c.backend);
    top.section("circuit_breaker",
                [&](object_reader& r) { read_circuit_breaker(r, c.circuit_breaker); });
    top.section("limits", [&](object_reader& r) { read_limits(r, c.limits); });
    top.section("rate_limit", [&](object_reader& r) { read_rate_limit(r, c.rate_limit); });
    top.section("capture", [&](object_reader& r) { read_capture(r, c.capture); });
    // Outside the section: without one the defaults stand, and the (empty) keyring is made too.
    c.capture.keys = load_seal_keys(c.capture);
    // Otherwise a body the capture allows could never be read whole.
    require(c.limits.max_buffered_bytes >= c.capture.max_body_bytes, "limits.max_buffered_bytes",
            "must be at least capture.max_body_bytes");
    top.section("kafka", [&](object_reader& r) { read_kafka(r, c.kafka); });
    // The defaults stand when the file has no kafka section, so this check is outside it.
    require(!c.kafka.brokers.empty(), "kafka.brokers", "must not be empty");
    top.section("spool", [&](object_reader& r) { read_spool(r, c.spool); });
    top.section("replay", [&](object_reader& r) { read_replay(r, c.replay); });
    top.section("admin", [&](object_reader& r) { read_admin(r, c.admin); });
    top.section("log", [&](object_reader& r) { read_log(r, c.log); });
    top.finish();
    return c;
}

}  // namespace spillway::config
