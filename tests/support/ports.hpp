#pragma once
// Loopback ports for the processes a test starts.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>

namespace spillway::test {

// A loopback TCP port that nothing is bound to now, for a process the test is about to start.
// It is taken below Linux's ephemeral range (32768-60999 by default): a port found by binding
// port 0 lies inside that range, and under parallel load the kernel can hand it to some
// connection's source port before the started process binds it ("Address already in use").
// Each test process starts at its own offset (by pid) and never returns the same port twice, so
// parallel test processes rarely even try the same one. Throws std::runtime_error when none is
// free.
std::uint16_t free_port();

// The port of a configuration's admin.listen ("host:port"); none when it is "off" or absent.
std::optional<std::uint16_t> admin_port_of(const nlohmann::json& config);

}  // namespace spillway::test
