#pragma once
// Child processes for integration tests: start a binary with arguments and extra environment,
// its stdout and stderr captured to files; wait (bounded) for a TCP port to accept, a file to
// appear or a line in its output; send signals; stop it by pid (SIGTERM, then SIGKILL after a
// bound). The destructor always stops it, so a failing test leaves no process behind; when the
// test failed, the tail of the child's stderr is printed to help the reader.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace spillway::test {

using namespace std::chrono_literals;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class temp_dir {
public:
    explicit temp_dir(std::string_view prefix = "spillway-test");
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

struct process_options {
    std::string path;  // the executable; a bare name is looked up in $PATH
    std::vector<std::string> args;  // argv[1..]
    std::vector<std::pair<std::string, std::string>> env;  // set on top of this environment
    std::string name;  // in messages and log file names (default: the file name)
    // >= 0: the child's stdout is this descriptor (e.g. a pipe the test never reads) instead of
    // a log file; stdout_text() is then empty.
    int stdout_fd = -1;
    // Set: the child's descriptor limit (RLIMIT_NOFILE, soft and hard), set by /bin/sh's
    // `ulimit -n` just before it execs the program (same pid).
    std::optional<unsigned> max_open_files;
    // Set: the child's file-size limit in bytes (RLIMIT_FSIZE, rounded down to 512-byte blocks),
    // set the same way (`ulimit -f`): writes past it fail (EFBIG), as on a full disk.
    std::optional<std::uint64_t> max_file_size;
};

class process {
public:
    // Spawns the child. Throws std::runtime_error when it cannot be started.
    static process start(process_options options);
    process() = default;  // no child: running() is false, stop() does nothing

    process(process&& other) noexcept;
    process& operator=(process&& other) noexcept;
    ~process();
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    pid_t pid() const { return pid_; }
    const std::string& name() const { return name_; }
    bool running();

    // Sends a signal (no-op once the child has been reaped).
    void signal(int sig);

    // Exit status once the child ended: its exit code, or 128 + the signal that killed it.
    std::optional<int> exit_status();
    // Waits up to `timeout` for the child to end.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL when it has not ended after `grace`; returns the exit status.
    int stop(std::chrono::milliseconds grace = 5s);

    // Waits until host:port accepts a TCP connection (false on timeout or when the child died).
    bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout = 10s,
                       const std::string& host = "127.0.0.1");
    // Waits until `text` has appeared `occurrences` times in stdout or stderr together.
    bool wait_for_output(std::string_view text, std::chrono::milliseconds timeout = 10s,
                         int occurrences = 1);

    std::string stdout_text() const;
    std::string stderr_text() const;
    const std::filesystem::path& stdout_path() const { return stdout_path_; }
    const std::filesystem::path& stderr_path() const { return stderr_path_; }

private:
    void reap(int status);

    pid_t pid_ = -1;
    std::string name_;
    std::optional<int> status_;
    std::unique_ptr<temp_dir> logs_;
    std::filesystem::path stdout_path_;
    std::filesystem::path stderr_path_;
};

struct command_result {
    int exit_status = -1;  // -1 when it was killed for running too long
    std::string out;
    std::string err;
};

// Runs a command to completion (killed after `timeout`) and returns what it printed.
command_result run_command(process_options options, std::chrono::milliseconds timeout = 30s);

// Polls `done` every few milliseconds until it returns true or `timeout` passes. For waiting on
// an outside event (a port, a file) where nothing can notify us; never a fixed sleep.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = 10ms);

bool wait_for_file(const std::filesystem::path& path, std::chrono::milliseconds timeout = 10s);
bool port_accepts(const std::string& host, std::uint16_t port);
std::string read_file(const std::filesystem::path& path);

// A field of /proc/<pid>/status in KiB ("VmHWM", "VmRSS"), nullopt when unreadable.
std::optional<long> proc_status_kib(pid_t pid, const std::string& field);

// CPU time the process used so far (user + system, all threads), from /proc/<pid>/stat.
std::optional<std::chrono::milliseconds> proc_cpu_time(pid_t pid);

// Descriptors the process has open (entries of /proc/<pid>/fd); nullopt when unreadable.
std::optional<std::size_t> proc_open_fds(pid_t pid);

// build/bin/<name> of this build tree.
std::string bin_path(std::string_view name);

}  // namespace spillway::test
