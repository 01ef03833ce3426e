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

// The copy to send when the dead-letter topic refused `refused` for good (larger than the topic
// takes, say): the same record with its `body` (or `raw`) emptied, `dlq.reason` saying so and
// where the whole record is (the spillway-source header), and the header
// spillway-dlq-body-omitted with the size left out. `why` is the refusal.
kafka::record reduced_dead_letter(const kafka::record& refused, const std::string& why);

// The `id` of a message value that is a JSON object with a string id, else "" (for logs).
std::string message_id(std::string_view value);

}  // namespace spillway::replay
