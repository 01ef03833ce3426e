#pragma once
// The command line of `spillway-ctl` after its global options (--config FILE): the command and
// its options (DESIGN.md, "Operating the queue"). Sans-I/O, so every usage mistake is unit-tested;
// each is a message that names what was wrong, and the binary exits 2 with it.

#include "spillway/ctl/record_filter.hpp"
#include "spillway/replay/tail_format.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace spillway::ctl {

enum class ctl_command { tail, find, stats, redrive };

struct ctl_request {
    ctl_command command = ctl_command::stats;
    record_filter filter;  // tail, redrive
    // tail
    std::optional<std::string> topic;  // default kafka.topic
    bool from_beginning = false;
    replay::tail_format format = replay::tail_format::text;
    // find
    std::string id;
    // redrive
    bool dry_run = false;
    double rate = 0;  // records per second, 0 = unlimited
    std::optional<std::uint64_t> limit;
    bool force = false;  // past replay.max_redrives
};

struct usage_error {
    std::string message;
};

std::variant<ctl_request, usage_error> parse_ctl_args(const std::vector<std::string>& args);

// The commands and options, for --help.
extern const char* const ctl_usage;

}  // namespace spillway::ctl
