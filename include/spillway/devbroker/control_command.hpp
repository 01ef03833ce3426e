#pragma once
// The devbroker's control protocol without I/O (docs/devbroker.md, "Control"): one text line in,
// one command or the reason it is refused out. Every byte comes from outside, so every word is
// checked against the cluster's shape here, before anything reaches librdkafka's mock (whose
// partition_set_leader, for one, would create a topic it does not know).

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace spillway::devbroker {

// librdkafka's mock addresses every broker at once as broker id -1.
inline constexpr std::int32_t all_brokers = -1;

struct topic_shape {
    std::string name;
    int partitions = 1;
};

// What a command may name: brokers 1..brokers, these topics and their partitions.
struct cluster_shape {
    int brokers = 1;
    std::vector<topic_shape> topics;
};

struct set_broker_state {
    std::int32_t broker = all_brokers;
    bool up = true;
};
struct move_leader {
    std::string topic;
    std::int32_t partition = 0;
    std::int32_t broker = 1;
};
struct set_rtt {
    std::int32_t broker = all_brokers;
    int rtt_ms = 0;
};
struct push_errors {
    std::int16_t api_key = 0;
    rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;
    int count = 1;
};
struct clear_errors {
    std::int16_t api_key = 0;
};
struct move_coordinator {
    std::string group;
    std::int32_t broker = 1;
};
struct show_status {};
struct show_help {};

using control_command = std::variant<set_broker_state, move_leader, set_rtt, push_errors,
                                     clear_errors, move_coordinator, show_status, show_help>;

// Either a command or why the line was refused (the text after "error ").
struct parsed_command {
    std::optional<control_command> command;
    std::string error;
};

inline constexpr int max_rtt_ms = 60000;
inline constexpr int max_error_count = 10000;
inline constexpr std::size_t max_group_bytes = 255;

// One line, without its "\n" (a trailing "\r" is dropped here).
parsed_command parse_control_command(std::string_view line, const cluster_shape& shape);

// "ok" followed by the command names, for `help`.
std::string help_answer();

// The API's name as the protocol spells it ("Produce"), or its number for one not in the table.
std::string api_name(std::int16_t api_key);

// A Kafka error's name as librdkafka spells it, without "RD_KAFKA_RESP_ERR_".
std::string error_name(rd_kafka_resp_err_t code);

// Outside text made safe to echo in one answer or log line: non-printable bytes as \xNN,
// at most 64 bytes of it.
std::string printable(std::string_view text);

}  // namespace spillway::devbroker
