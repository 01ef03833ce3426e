#pragma once
// spdlog set-up: one named logger per module, text or JSON lines. The access log goes to stdout,
// every other logger to stderr, both through the log writer (log_writer.hpp): a bounded queue
// and a thread of its own, so logging never blocks a worker; lines a stalled output cannot take
// are dropped and counted.

#include "spillway/config/config.hpp"

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace spillway::runtime {

// Configures the level and format of every logger, including the access log. Call once at start.
void setup_logging(const config::log_config& cfg);

// Changes the level of the diagnostic logs (a reload's log.level); the access log stays as
// log.access_log set it.
void set_log_level(const std::string& level);

// The named logger for a module ("proxy", "kafka", "spool", "replay", "admin", ...),
// created on first use with the configured sinks.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

// The access logger: one line per request. In JSON mode its messages are JSON objects whose
// fields are merged into the log line.
std::shared_ptr<spdlog::logger> access_logger();

// Whether the access log uses JSON (callers build the line accordingly).
bool json_logs();

// Writes what is queued within `bound` (an output that takes nothing cannot hold the exit up),
// then stops the writer; lines logged after it are dropped. Call once, at the end of main.
void shutdown_logging(std::chrono::milliseconds bound = std::chrono::milliseconds(1000));

// Log lines dropped because their output could not keep up (spillway_log_dropped_total).
std::uint64_t log_lines_dropped();

}  // namespace spillway::runtime
