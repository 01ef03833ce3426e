#pragma once
// spdlog set-up: one named logger per module, text or JSON lines. The access log goes to stdout
// (buffered, flushed every second: one line per request must not cost a syscall each); every
// other logger goes to stderr, flushed at once.

#include "spillway/config/config.hpp"

#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace spillway::runtime {

// Configures the level and format of every logger, including the access log. Call once at start.
void setup_logging(const config::log_config& cfg);

// The named logger for a module ("proxy", "kafka", "spool", "replay", "admin", ...),
// created on first use with the configured sinks.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

// The access logger: one line per request. In JSON mode its messages are JSON objects whose
// fields are merged into the log line.
std::shared_ptr<spdlog::logger> access_logger();

// Whether the access log uses JSON (callers build the line accordingly).
bool json_logs();

}  // namespace spillway::runtime
