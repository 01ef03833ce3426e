#pragma once
// What the capture tests check on top of the proxy fixture: the 503 "queued" answer against
// DESIGN.md, and the topic read back from the devbroker with kcat (an independent client) with
// every record decoded by our own parser and checked against the JSON Schema.

#include "spillway/envelope/envelope.hpp"

#include "support/http_client.hpp"
#include "support/kcat.hpp"
#include "support/load_client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace spillway::test {

inline constexpr const char* capture_topic = "failed-requests";

// Checks a response against the capture contract (status 503, Content-Type, Retry-After 30,
// X-Request-Id, the exact JSON body) with gtest expectations; returns the request id ("" when
// there was none).
std::string expect_captured(const response& res, bool queued = true);

// One record of the topic, as kcat read it, decoded.
struct captured {
    kcat::message message;
    nlohmann::json raw;  // the value as JSON (null when not JSON)
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

// The request ids of answers that say queued:true (checked with gtest expectations).
std::set<std::string> queued_ids(const load_result& result, std::size_t expected);

}  // namespace spillway::test
