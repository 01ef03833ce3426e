#pragma once
// What the capture tests share: the real `spillway` binary pointed at a backend, a devbroker and a
// spool directory that the test owns (so a restarted proxy finds what the last one spooled); the
// 503 "queued" answer checked against DESIGN.md; the topic read back with kcat and every record
// decoded; and a load client that keeps many keep-alive connections busy at once.

#include "spillway/envelope/envelope.hpp"
#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/kcat.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace spillway::test::capture_suite {

using namespace std::chrono_literals;

inline constexpr const char* topic = "failed-requests";

// http://127.0.0.1:<a port nothing listens on>: every request gets connect_error.
std::string dead_backend_url();

struct proxy_options {
    std::string backend_url;
    std::string brokers;
    std::filesystem::path spool_dir;
    nlohmann::json settings;  // merged (RFC 7386) over the defaults below
};

// One `spillway` process. Defaults: listen on a free port, one thread, response timeout 2 s,
// kafka.delivery_timeout_ms 5000, admin on its own free port, logs at warn. Throws
// std::runtime_error when it does not accept within 10 s. Killed by pid on destruction.
class proxy {
public:
    explicit proxy(const proxy_options& options);

    std::uint16_t port() const { return port_; }
    std::uint16_t admin_port() const { return admin_port_; }
    process& proc() { return process_; }
    const nlohmann::json& config() const { return config_; }

    // SIGTERM, then the exit status once it ended (nullopt when not within `timeout`).
    std::optional<int> terminate(std::chrono::milliseconds timeout = 15s);

private:
    temp_dir dir_{"spillway-capture"};
    nlohmann::json config_;
    std::uint16_t port_ = 0;
    std::uint16_t admin_port_ = 0;
    process process_;
};

// One sample of GET /metrics on the admin listener: the line named `name` that carries every
// label pair in `labels`; nullopt when there is none or the listener does not answer.
std::optional<double> metric(std::uint16_t admin_port, std::string_view name,
                             const header_list& labels = {});

// Checks a response against the capture contract (status 503, Content-Type, Retry-After 30,
// X-Request-Id, the exact JSON body) with gtest expectations; returns the request id ("" when
// there was none).
std::string expect_captured(const response& res, bool queued = true);

// One record of the topic, as kcat read it, decoded.
struct captured {
    kcat::message message;
    nlohmann::json raw;                         // the value as JSON (null when not JSON)
    std::optional<spillway::envelope::envelope> envelope;  // nullopt when parse_envelope refused it
    std::string parse_error;
};

std::vector<captured> read_topic(const std::string& bootstrap);

// Waits (bounded) until the topic holds at least `n` records, then reads all of it. A record
// may legitimately come later than its 503 when Kafka was slow and it went through the spool.
std::vector<captured> read_records(const std::string& bootstrap, std::int64_t n);

// Waits until the topic's end offsets add up to at least `n` (false on timeout). Polls kcat:
// nothing inside the broker can tell the test when a record arrives.
bool wait_for_records(const std::string& bootstrap, std::int64_t n,
                      std::chrono::milliseconds timeout = 20s);

// The topic's total end offset, or -1 when kcat could not read it.
std::int64_t records_in_topic(const std::string& bootstrap);

// Validates every record's value against docs/envelope.schema.json (gtest expectations).
void expect_schema_valid(const std::vector<captured>& records);

// The ids of the records (the envelope's id, or "" when it did not parse).
std::vector<std::string> ids_of(const std::vector<captured>& records);

// Every id in `ids` is in `records` exactly once, and nothing else is (gtest expectations,
// the first few offenders named).
void expect_exactly_once(const std::vector<captured>& records, const std::set<std::string>& ids);

// What the load client got for one request.
struct answer {
    unsigned status = 0;
    std::string body;
    std::string request_id;  // the X-Request-Id header
    std::chrono::steady_clock::duration took{};
};

struct load_options {
    std::uint16_t port = 0;
    std::size_t connections = 1;
    std::size_t requests = 1;
    std::string method = "POST";
    std::string target = "/load";  // "?n=<index>" is appended
    std::string body = "{}";
    std::chrono::milliseconds timeout = 30s;  // the whole run
};

struct load_result {
    std::vector<answer> answers;  // one per request that got a whole response
    std::size_t errors = 0;       // requests without a response (connection lost, timeout)
};

// Sends `requests` requests over `connections` keep-alive connections at once, each connection
// sending its next request as soon as it has the previous answer. Bounded by options.timeout.
load_result run_load(const load_options& options);

// The request ids of answers that say queued:true (checked with gtest expectations).
std::set<std::string> queued_ids(const load_result& result, std::size_t expected);

}  // namespace spillway::test::capture_suite
