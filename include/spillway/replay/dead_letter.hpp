#pragma once
// The records the replay produces to replay.dlq_topic. A valid envelope is dead-lettered whole,
// with its `attempts` brought up to date and the `dlq` object of DESIGN.md. A message that is not
// a valid envelope is kept as it was: a JSON object gets the `dlq` member added, anything else is
// wrapped as {"raw": ..., "raw_encoding": "utf8"|"base64", "dlq": {...}}, so no input is lost.
// Record headers say where it came from, for operators who filter without parsing.

#include "spillway/envelope/envelope.hpp"
#include "spillway/kafka/producer.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::replay {

struct source_position {
    std::string topic;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::string key;
};

// A valid envelope that the backend refused or that ran out of attempts.
kafka::record dead_letter_envelope(envelope::envelope e, envelope::dlq_info info,
                                   const source_position& from, const std::string& dlq_topic);

// Anything else; `raw` is the message value as read.
kafka::record dead_letter_raw(std::string_view raw, envelope::dlq_info info,
                              const source_position& from, const std::string& dlq_topic);

}  // namespace spillway::replay
