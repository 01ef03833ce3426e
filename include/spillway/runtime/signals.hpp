#pragma once
// How the daemons take termination signals: synchronously, on the main thread.

#include <csignal>

namespace spillway::runtime {

// Blocks SIGTERM and SIGINT in the calling thread (call it from main() before starting threads:
// every thread started later inherits the mask, so no handler ever runs on an I/O or Kafka
// thread), ignores SIGPIPE, and returns the set for sigwait().
sigset_t block_termination_signals();

}  // namespace spillway::runtime
