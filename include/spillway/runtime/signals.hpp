#pragma once
// How the binaries take signals. A daemon blocks them in every thread and its main thread waits
// for them (signal_waiter): no handler ever runs on an I/O or Kafka thread, so there is no
// async-signal-safety puzzle. A loop that polls instead (spillway-replay --tail) reads a flag
// that handlers set (stop_flag_on_signals).

#include <atomic>
#include <csignal>
#include <initializer_list>
#include <optional>
#include <string>

namespace spillway::runtime {

class signal_waiter {
public:
    // Blocks `signals` in the calling thread and ignores SIGPIPE (a peer that went away is an
    // error code, not the end of the process). Construct it in main() before any thread starts:
    // threads inherit the mask. The signals stay blocked after it is gone, so a second SIGTERM
    // during shutdown cannot kill the process halfway. Throws std::system_error when the kernel
    // refuses the descriptors it needs.
    explicit signal_waiter(std::initializer_list<int> signals = {SIGTERM, SIGINT});
    ~signal_waiter();

    signal_waiter(const signal_waiter&) = delete;
    signal_waiter& operator=(const signal_waiter&) = delete;

    // Blocks until one of the signals arrives and returns its number, or returns 0 once
    // interrupt() was called (before or during the wait). Call it from the constructing thread.
    int wait() noexcept;

    // Makes wait() return 0, now and from then on: the program ended on its own (the replay's
    // loop failed) and nobody will send a signal. Any thread.
    void interrupt() noexcept;

private:
    int signal_fd_ = -1;
    int wake_fd_ = -1;
};

// The daemons' wait: SIGTERM or SIGINT by name ("SIGTERM"), for the log line that says why the
// daemon stops; nullopt when it was interrupted instead.
std::optional<std::string> wait_for_termination(signal_waiter& signals);

// "SIGTERM", "SIGUSR1", ...; "signal 42" for one without a name.
std::string signal_name(int sig);

// Installs handlers that set the returned flag on SIGTERM, SIGINT and SIGPIPE (the reader of a
// pipe went away: `| head` ends the output quietly), for a loop that polls the flag on the
// thread that writes. Handlers, not a signal_waiter: a SIGPIPE goes to the thread whose write
// failed, so no other thread could wait for it.
const std::atomic<bool>& stop_flag_on_signals();

}  // namespace spillway::runtime
