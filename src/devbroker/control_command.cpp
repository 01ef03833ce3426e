#include "spillway/devbroker/control_command.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace spillway::devbroker {

namespace {

struct api_entry {
    std::string_view name;
    std::int16_t key;
};

// The APIs a Spillway producer and consumer use, by the names of Kafka's protocol guide.
constexpr std::array<api_entry, 12> known_apis{{
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Metadata", 3},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"InitProducerId", 22},
}};

// Kafka's ApiKeys stay well below this; any key in range may carry pushed errors.
constexpr int max_api_key = 99;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        if (line[i] == ' ') {
            ++i;
            continue;
        }
        const auto end = std::min(line.find(' ', i), line.size());
        words.push_back(line.substr(i, end - i));
        i = end;
    }
    return words;
}

// Decimal digits only (no sign, no spaces), within [lo, hi].
std::optional<int> parse_int(std::string_view word, int lo, int hi) {
    if (word.empty() || word.size() > 9 ||
        !std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    int value = 0;
    std::from_chars(word.data(), word.data() + word.size(), value);
    if (value < lo || value > hi) {
        return std::nullopt;
    }
    return value;
}

parsed_command refuse(std::string why) {
    return {std::nullopt, std::move(why)};
}

parsed_command accept(control_command command) {
    return {std::move(command), {}};
}

// A broker id in 1..N; `all` when `allow_all`. Sets `why` when refused.
std::optional<std::int32_t> parse_broker(std::string_view word, const cluster_shape& shape,
                                         bool allow_all, std::string& why) {
    if (allow_all && word == "all") {
        return all_brokers;
    }
    if (auto id = parse_int(word, 1, shape.brokers)) {
        return *id;
    }
    why = "unknown broker \"" + printable(word) + "\" (brokers are 1.." +
          std::to_string(shape.brokers) + (allow_all ? " or all)" : ")");
    return std::nullopt;
}

std::optional<std::int16_t> parse_api(std::string_view word) {
    for (const auto& api : known_apis) {
        if (iequals(word, api.name)) {
            return api.key;
        }
    }
    if (auto key = parse_int(word, 0, max_api_key)) {
        return static_cast<std::int16_t>(*key);
    }
    return std::nullopt;
}

std::string unknown_api(std::string_view word) {
    std::string known;
    for (const auto& api : known_apis) {
        known += known.empty() ? "" : ", ";
        known += api.name;
    }
    return "unknown API \"" + printable(word) + "\" (one of " + known + ", or an ApiKey 0.." +
           std::to_string(max_api_key) + ")";
}

// Broker-side codes only: librdkafka's own (negative) codes mean nothing to a client on the wire.
std::optional<rd_kafka_resp_err_t> parse_error_code(std::string_view word) {
    const rd_kafka_err_desc* descs = nullptr;
    std::size_t count = 0;
    rd_kafka_get_err_descs(&descs, &count);
    const auto broker_side = [](const rd_kafka_err_desc& d) {
        return d.name != nullptr && d.code >= RD_KAFKA_RESP_ERR_NO_ERROR;
    };
    if (auto number = parse_int(word, 0, 32767)) {
        for (std::size_t i = 0; i < count; ++i) {
            if (broker_side(descs[i]) && descs[i].code == *number) {
                return descs[i].code;
            }
        }
        return std::nullopt;
    }
    // Kafka renamed NOT_LEADER_FOR_PARTITION (code 6); librdkafka 2.0 knows only the old name.
    if (iequals(word, "NOT_LEADER_OR_FOLLOWER")) {
        return RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    }
    for (std::size_t i = 0; i < count; ++i) {
        if (broker_side(descs[i]) && iequals(word, descs[i].name)) {
            return descs[i].code;
        }
    }
    return std::nullopt;
}

parsed_command parse_updown(const std::vector<std::string_view>& words, const cluster_shape& shape,
                            bool up) {
    if (words.size() != 2) {
        return refuse(std::string("usage: ") + (up ? "up" : "down") + " BROKER|all");
    }
    std::string why;
    auto broker = parse_broker(words[1], shape, true, why);
    if (!broker) {
        return refuse(why);
    }
    return accept(set_broker_state{*broker, up});
}

parsed_command parse_leader(const std::vector<std::string_view>& words,
                            const cluster_shape& shape) {
    if (words.size() != 4) {
        return refuse("usage: leader TOPIC PARTITION BROKER");
    }
    const auto topic = std::find_if(shape.topics.begin(), shape.topics.end(),
                                    [&](const topic_shape& t) { return t.name == words[1]; });
    if (topic == shape.topics.end()) {
        std::string known;
        for (const auto& t : shape.topics) {
            known += known.empty() ? "" : ", ";
            known += t.name;
        }
        return refuse("unknown topic \"" + printable(words[1]) + "\" (topics: " + known + ")");
    }
    auto partition = parse_int(words[2], 0, topic->partitions - 1);
    if (!partition) {
        return refuse("bad partition \"" + printable(words[2]) + "\" (" + topic->name +
                      " has partitions 0.." + std::to_string(topic->partitions - 1) + ")");
    }
    std::string why;
    auto broker = parse_broker(words[3], shape, false, why);
    if (!broker) {
        return refuse(why);
    }
    return accept(move_leader{topic->name, *partition, *broker});
}

parsed_command parse_rtt(const std::vector<std::string_view>& words, const cluster_shape& shape) {
    if (words.size() != 3) {
        return refuse("usage: rtt BROKER|all MS");
    }
    std::string why;
    auto broker = parse_broker(words[1], shape, true, why);
    if (!broker) {
        return refuse(why);
    }
    auto ms = parse_int(words[2], 0, max_rtt_ms);
    if (!ms) {
        return refuse("bad round-trip time \"" + printable(words[2]) + "\" (milliseconds, 0.." +
                      std::to_string(max_rtt_ms) + ")");
    }
    return accept(set_rtt{*broker, *ms});
}

parsed_command parse_error(const std::vector<std::string_view>& words) {
    if (words.size() != 4) {
        return refuse("usage: error API CODE COUNT");
    }
    auto api = parse_api(words[1]);
    if (!api) {
        return refuse(unknown_api(words[1]));
    }
    auto code = parse_error_code(words[2]);
    if (!code) {
        return refuse("unknown error code \"" + printable(words[2]) +
                      "\" (a broker-side Kafka error name such as NOT_ENOUGH_REPLICAS, or its "
                      "number)");
    }
    auto count = parse_int(words[3], 1, max_error_count);
    if (!count) {
        return refuse("bad count \"" + printable(words[3]) + "\" (1.." +
                      std::to_string(max_error_count) + ")");
    }
    return accept(push_errors{*api, *code, *count});
}

parsed_command parse_clear(const std::vector<std::string_view>& words) {
    if (words.size() != 2) {
        return refuse("usage: clear API");
    }
    auto api = parse_api(words[1]);
    if (!api) {
        return refuse(unknown_api(words[1]));
    }
    return accept(clear_errors{*api});
}

parsed_command parse_coordinator(const std::vector<std::string_view>& words,
                                 const cluster_shape& shape) {
    if (words.size() != 4 || words[1] != "group") {
        return refuse("usage: coordinator group GROUP BROKER");
    }
    const auto group = words[2];
    if (group.size() > max_group_bytes || !std::all_of(group.begin(), group.end(), [](char c) {
            return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
        })) {
        return refuse("bad group \"" + printable(group) + "\" (printable ASCII, at most " +
                      std::to_string(max_group_bytes) + " bytes)");
    }
    std::string why;
    auto broker = parse_broker(words[3], shape, false, why);
    if (!broker) {
        return refuse(why);
    }
    return accept(move_coordinator{std::string(group), *broker});
}

parsed_command parse_no_arguments(const std::vector<std::string_view>& words,
                                  control_command command) {
    if (words.size() != 1) {
        return refuse("usage: " + std::string(words[0]) + " (no arguments)");
    }
    return accept(std::move(command));
}

}  // namespace

parsed_command parse_control_command(std::string_view line, const cluster_shape& shape) {
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    const auto words = split_words(line);
    if (words.empty()) {
        return refuse("empty command (try help)");
    }
    const auto verb = words[0];
    if (verb == "down" || verb == "up") {
        return parse_updown(words, shape, verb == "up");
    }
    if (verb == "leader") {
        return parse_leader(words, shape);
    }
    if (verb == "rtt") {
        return parse_rtt(words, shape);
    }
    if (verb == "error") {
        return parse_error(words);
    }
    if (verb == "clear") {
        return parse_clear(words);
    }
    if (verb == "coordinator") {
        return parse_coordinator(words, shape);
    }
    if (verb == "status") {
        return parse_no_arguments(words, show_status{});
    }
    if (verb == "help") {
        return parse_no_arguments(words, show_help{});
    }
    return refuse("unknown command \"" + printable(verb) + "\" (try help)");
}

std::string help_answer() {
    return "ok down up leader rtt error clear coordinator status help";
}

std::string api_name(std::int16_t api_key) {
    for (const auto& api : known_apis) {
        if (api.key == api_key) {
            return std::string(api.name);
        }
    }
    return "ApiKey " + std::to_string(api_key);
}

std::string error_name(rd_kafka_resp_err_t code) {
    return rd_kafka_err2name(code);
}

std::string printable(std::string_view text) {
    constexpr std::size_t max_bytes = 64;
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    if (text.size() > max_bytes) {
        out += "...";
    }
    return out;
}

}  // namespace spillway::devbroker
