#pragma once
// `spillway-replay --tail`: prints the queued envelopes for an operator, without sending or
// committing anything. It reads every partition of kafka.topic with assign() (no group
// membership, auto-commit off), from the end or, with --from-beginning, from the oldest record.

#include "spillway/config/config.hpp"
#include "spillway/replay/tail_format.hpp"

#include <atomic>
#include <functional>
#include <ostream>

namespace spillway::replay {

struct tail_options {
    tail_format format = tail_format::text;
    bool from_beginning = false;
    std::string topic;  // empty: kafka.topic (spillway-ctl tail --topic reads others)
    // Set: only the records it keeps are printed (spillway-ctl tail's filters); it gets the value.
    std::function<bool(std::string_view)> keep;
};

// Prints one line per record to `out` until `stop` becomes true. Returns the exit status
// (0, or 1 when the topic could not be read). Throws config::config_error at start-up.
int run_tail(const config::config& cfg, const tail_options& options, std::ostream& out,
             const std::atomic<bool>& stop);

}  // namespace spillway::replay
