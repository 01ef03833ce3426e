#pragma once
// The commands of `spillway-ctl` (DESIGN.md, "Operating the queue"; docs/operations.md). Each
// reads Kafka only (never the backend), prints for an operator and returns the exit status:
// 0 done, 1 Kafka could not be read or written (with the reason on `err`).

#include "spillway/config/config.hpp"
#include "spillway/ctl/ctl_args.hpp"

#include <chrono>
#include <ostream>

namespace spillway::ctl {

struct command_context {
    const config::config& cfg;
    std::ostream& out;
    std::ostream& err;
    std::chrono::milliseconds timeout{10000};  // the most one Kafka step may take
};

// Every record of `id` in kafka.topic and replay.dlq_topic: where it is, what it is, and whether
// the replay group has passed it. 1 when there is none.
int run_find(const command_context& ctx, const std::string& id);

// Per topic: partitions, records, end offsets and the replay group's lag; the dead letters by
// reason and by failure kind.
int run_stats(const command_context& ctx);

// Sends the matching dead letters back to kafka.topic, each at most once however often it runs
// (the main topic's spillway-redrive-of headers are the ledger): see redrive.cpp.
int run_redrive(const command_context& ctx, const ctl_request& request);

}  // namespace spillway::ctl
