#pragma once
// Request ids: random (version 4) UUIDs, generated without locks from a per-thread engine.

#include <string>

namespace spillway::core {

// A new UUID v4 in its canonical 36-character lower-case form.
std::string new_request_id();

// The current time as RFC 3339 UTC with milliseconds: 2026-11-26T18:00:00.123Z.
std::string now_rfc3339();

}  // namespace spillway::core
