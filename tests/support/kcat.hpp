#pragma once
// kcat (Debian's Kafka command-line client) as an independent witness: what the tests read back
// from a topic is read by a client that shares no code with Spillway. Every call is bounded in
// time; a failure throws std::runtime_error with kcat's stderr.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spillway::test::kcat {

using namespace std::chrono_literals;

struct message {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::optional<std::string> key;  // nullopt for a null key
    std::string value;  // byte for byte, NULs included
    // As kcat prints them: a header value containing ',' or a newline is not told apart.
    std::vector<std::pair<std::string, std::string>> headers;

    std::optional<std::string> header(const std::string& name) const;
};

// Every message still in the topic (all partitions, from the beginning to the end offsets).
std::vector<message> consume_all(const std::string& bootstrap, const std::string& topic,
                                 std::chrono::milliseconds timeout = 30s);

// partition -> end offset (the next offset to be written: the number of records ever appended,
// which the devbroker's retention does not reduce).
std::map<std::int32_t, std::int64_t> end_offsets(const std::string& bootstrap,
                                                 const std::string& topic,
                                                 std::chrono::milliseconds timeout = 30s);
std::int64_t total_end_offset(const std::string& bootstrap, const std::string& topic,
                              std::chrono::milliseconds timeout = 30s);

// The topic's partition numbers (empty when it does not exist).
std::vector<std::int32_t> partitions(const std::string& bootstrap, const std::string& topic,
                                     std::chrono::milliseconds timeout = 30s);

// Produces one message (a non-empty value: kcat skips empty files) and waits for its ack.
void produce(const std::string& bootstrap, const std::string& topic, const std::string& key,
             const std::string& value,
             const std::vector<std::pair<std::string, std::string>>& headers = {},
             std::chrono::milliseconds timeout = 30s);

}  // namespace spillway::test::kcat
