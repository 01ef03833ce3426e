#pragma once
// How Spillway classifies librdkafka's error codes.

namespace spillway::kafka {

// Errors that retrying cannot cure: Kafka refuses this record itself (too large, invalid, not
// authorised). A capture that meets one is not spooled (the spool would only send it again) and a
// spooled record that meets one is quarantined, so it cannot block the records behind it.
bool is_permanent_error(int error) noexcept;

}  // namespace spillway::kafka
