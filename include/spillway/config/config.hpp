#pragma once
// The deployment's configuration: one JSON file (config/spillway.json documents every key and its
// default), overridden by SPILLWAY_* environment variables. Every binary reads the sections it
// needs. Parsing is one step that validates everything and names the key on error.

#include "spillway/net/ip_prefix.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace spillway::core {
class seal_keyring;
}

namespace spillway::config {

using std::chrono::milliseconds;

// A configuration mistake: what() names the key, e.g. "kafka.topic: expected a string".
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "host:port"; host may be a name, an IPv4 address or a bracketed IPv6 address.
struct host_port {
    std::string host;
    std::uint16_t port = 0;
    bool tls = false;  // a backend endpoint given as https:// (backend_tls_config)

    std::string to_string() const;
};

// backend.tls: how https:// endpoints are verified (README, "TLS to the backend").
struct backend_tls_config {
    // PEM: the CAs a backend's certificate must chain to, instead of the system's; "" = the
    // system's (OpenSSL's default verify paths).
    std::string ca_file;
    // The name the backend's certificate must carry, and the SNI; "" = each URL's host.
    std::string server_name;
    // false: any certificate is accepted (tests only; the daemons warn at start).
    bool verify = true;
};

struct backend_config {
    std::string url = "http://127.0.0.1:3000";
    host_port address{"127.0.0.1", 3000};  // derived from url
    milliseconds connect_timeout{1000};
    milliseconds response_timeout{30000};
    std::size_t pool_max_idle = 64;  // idle keep-alive connections kept per worker thread
    milliseconds pool_idle_timeout{60000};
    // Where the proxy sends requests (round-robin): backend.endpoints when given, else the one
    // address of backend.url. `url`/`address` stay the replay consumer's single target (the
    // first endpoint unless backend.url is given too).
    std::vector<host_port> endpoints{host_port{"127.0.0.1", 3000}};
    backend_tls_config tls;
};

// Per backend endpoint: after failure_threshold consecutive capture-worthy failures the circuit
// opens and requests are captured as circuit_open without trying it; after open_duration one
// probe is let through, and its success closes the circuit.
struct circuit_breaker_config {
    bool enabled = false;  // off by default: an upgrade changes nothing (README, "Operating it")
    unsigned failure_threshold = 5;
    milliseconds open_duration{10000};
};

struct limits_config {
    std::size_t max_header_bytes = 16 * 1024;
    milliseconds header_timeout{10000};
    milliseconds body_timeout{60000};
    milliseconds idle_timeout{60000};
    std::size_t max_connections = 10000;
    // Request bodies held in memory at once, over all connections; beyond it 503 "overloaded".
    std::uint64_t max_buffered_bytes = 512ull * 1024 * 1024;
};

// Per-client-IP token buckets on the proxy listener (README "Rate limiting").
struct rate_limit_config {
    double requests_per_second = 0;  // 0 = off; fractional allowed (0.5 = one every 2 s)
    unsigned burst = 0;  // bucket size; 0 = one second's worth, max(1, ceil(rps))
    std::vector<netx::ip_prefix> trusted_proxies;  // peers whose X-Forwarded-For is believed
    std::size_t max_clients = 65536;  // buckets kept at most (memory bound)

    bool enabled() const { return requests_per_second > 0; }
    double effective_burst() const;
};

struct capture_config {
    std::size_t max_body_bytes = 10 * 1024 * 1024;
    std::vector<unsigned> on{502, 503, 504};
    // Added to the live attempt with the request id unless the client sent one; the replay sends
    // the same key. Empty: neither adds one.
    std::string idempotency_header = "Idempotency-Key";
    unsigned response_status = 503;
    unsigned retry_after_s = 30;
    // Always stored as [REDACTED], sealed or not. Empty by default: what is sensitive is sealed.
    std::vector<std::string> redact_headers;
    // Stored sealed (AES-256-GCM, docs/sealing.md) when there is a seal key, else redacted.
    std::vector<std::string> seal_headers{"Authorization", "Proxy-Authorization", "Cookie"};
    std::string seal_key_file;  // "" = none
    std::vector<std::string> open_key_files;  // older keys the replay may still open with
    bool seal_body = false;  // needs seal_key_file
    // The keys of seal_key_file and open_key_files, read and checked when the configuration is
    // parsed (never null; empty without key files). Shared: copies of the config share the keys.
    std::shared_ptr<const core::seal_keyring> keys;
};

struct kafka_config {
    std::string brokers = "127.0.0.1:9092";
    std::string topic = "failed-requests";
    std::string key = "id";  // id | client_ip | header:<Name>
    milliseconds delivery_timeout{5000};
    std::map<std::string, std::string> properties;  // passed to librdkafka as is
};

struct spool_config {
    std::string dir = "/var/lib/spillway/spool";
    std::uint64_t max_bytes = 1ull << 30;
};

struct replay_config {
    std::string group_id = "spillway-replay";
    std::string dlq_topic = "failed-requests.dlq";
    unsigned concurrency = 16;
    // Pace to the backend within `concurrency` (AIMD: replay/concurrency_limit.hpp).
    bool adaptive = true;
    double rate_limit = 0;  // requests per second, 0 = none
    unsigned max_attempts = 10;
    // `spillway-ctl redrive` skips a dead letter already sent back this often (unless --force).
    unsigned max_redrives = 3;
    milliseconds backoff_initial{500};
    milliseconds backoff_max{60000};
    milliseconds probe_interval{1000};
    // What the outage probe asks for (GET, on backend.url): any status but 502/503/504 is "up".
    std::string probe_path = "/";
};

struct admin_config {
    // Empty means the binary's own default: 127.0.0.1:9901 (proxy), 127.0.0.1:9902 (replay).
    std::optional<host_port> listen;
    // admin.listen "off": no admin listener at all (the counters still count; nothing serves them).
    bool enabled = true;
};

// The proxy listener's TLS (README, "TLS"): on when cert_file and key_file are set. The files are
// read when the listener starts (proxy/tls_server_context.hpp), and again on a reload.
struct tls_config {
    std::string cert_file;  // PEM: the server's certificate, then its chain
    std::string key_file;  // PEM: its private key (RSA or ECDSA), unencrypted
    std::string min_version = "1.2";  // "1.2" | "1.3"

    bool enabled() const { return !cert_file.empty(); }
};

struct log_config {
    std::string level = "info";  // trace debug info warn error critical off
    std::string format = "text";  // text | json
    bool access_log = true;
};

struct config {
    host_port listen{"0.0.0.0", 8080};
    unsigned threads = 0;  // 0 = one per core
    milliseconds shutdown_timeout{10000};
    std::string health_path = "/health";
    tls_config tls;
    backend_config backend;
    circuit_breaker_config circuit_breaker;
    limits_config limits;
    rate_limit_config rate_limit;
    capture_config capture;
    kafka_config kafka;
    spool_config spool;
    replay_config replay;
    admin_config admin;
    log_config log;

    // The number of worker threads to run: `threads`, or one per core when it is 0.
    unsigned worker_threads() const;
};

// An environment lookup, injectable so tests need not touch the process environment.
using env_lookup = std::optional<std::string> (*)(const char* name);
std::optional<std::string> process_env(const char* name);

// Parses and validates a JSON document (the file's text) with env overrides applied.
// Throws config_error naming the key (or the environment variable) on any mistake.
config parse(const std::string& json_text, env_lookup env = process_env);

// Reads FILE and parses it; a missing or unreadable file is a config_error naming the file.
config load_file(const std::string& path, env_lookup env = process_env);

// "host:port" -> host_port; throws config_error prefixed with `key`.
host_port parse_host_port(const std::string& key, const std::string& text);

}  // namespace spillway::config
