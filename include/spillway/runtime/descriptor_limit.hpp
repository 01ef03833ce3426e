#pragma once
// The process's descriptor limit (RLIMIT_NOFILE). The proxy needs two descriptors for each client
// connection (the client's and its backend connection) and some of its own; a soft limit left at
// the usual 1024 would make it run out long before limits.max_connections. So it raises the soft
// limit to the hard limit at start, and warns when even that is short.

#include <cstdint>

namespace spillway::runtime {

struct descriptor_limit {
    std::uint64_t before = 0;  // the soft limit found
    std::uint64_t soft = 0;  // the soft limit now
    std::uint64_t hard = 0;
};

// Raises the soft limit to the hard limit (RLIM_INFINITY counts as UINT64_MAX).
descriptor_limit raise_descriptor_limit();

// What `max_connections` client connections need: two descriptors each, plus headroom for the
// listeners, the event loops, Kafka's sockets, the spool's files and the logs.
std::uint64_t descriptors_needed(std::uint64_t max_connections, unsigned threads);

}  // namespace spillway::runtime
