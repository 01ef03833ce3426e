#include "support/process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace spillway::test {

namespace {

using clock = std::chrono::steady_clock;

std::filesystem::path temp_root() {
    const char* tmp = std::getenv("TMPDIR");
    return tmp != nullptr && *tmp != '\0' ? std::filesystem::path(tmp) : "/tmp";
}

// The parent environment with `extra` set on top.
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        bool overridden = false;
        for (const auto& [name, value] : extra) {
            if (entry.size() > name.size() && entry.starts_with(name) &&
                entry[name.size()] == '=') {
                overridden = true;
            }
        }
        if (!overridden) {
            env.emplace_back(entry);
        }
    }
    for (const auto& [name, value] : extra) {
        env.push_back(name + "=" + value);
    }
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

std::size_t count_occurrences(const std::string& haystack, std::string_view needle) {
    std::size_t count = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + needle.size())) {
        ++count;
    }
    return count;
}

std::string tail(const std::string& text, std::size_t max_bytes) {
    return text.size() <= max_bytes ? text : "..." + text.substr(text.size() - max_bytes);
}

}  // namespace

temp_dir::temp_dir(std::string_view prefix) {
    std::string pattern = (temp_root() / (std::string(prefix) + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    }
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

process process::start(process_options options) {
    process p;
    p.name_ = options.name.empty() ? std::filesystem::path(options.path).filename().string()
                                   : options.name;
    p.logs_ = std::make_unique<temp_dir>("spillway-proc-" + p.name_);
    p.stdout_path_ = p.logs_->path() / "stdout.log";
    p.stderr_path_ = p.logs_->path() / "stderr.log";

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (options.stdout_fd >= 0) {
        posix_spawn_file_actions_adddup2(&actions, options.stdout_fd, 1);
    } else {
        posix_spawn_file_actions_addopen(&actions, 1, p.stdout_path_.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    posix_spawn_file_actions_addopen(&actions, 2, p.stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // Nothing else of the test process leaks into the child: Asio's sockets are not
    // close-on-exec, and a child holding a test backend's listening socket keeps it accepting.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    // The child starts with default dispositions and nothing blocked, whatever the test runner
    // did to its own signals.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<std::string> argv_strings{options.path};
    argv_strings.insert(argv_strings.end(), options.args.begin(), options.args.end());
    std::string limits;
    if (options.max_open_files) {
        limits += "ulimit -n " + std::to_string(*options.max_open_files) + " && ";
    }
    if (options.max_file_size) {
        limits += "ulimit -f " + std::to_string(*options.max_file_size / 512) + " && ";
    }
    if (!limits.empty()) {
        // The shell sets the limits and replaces itself with the program: the pid stays the same.
        argv_strings.insert(argv_strings.begin(), {"/bin/sh", "-c", limits + "exec \"$0\" \"$@\""});
        options.path = "/bin/sh";
    }
    auto env_strings = child_environment(options.env);
    auto argv = c_strings(argv_strings);
    auto envp = c_strings(env_strings);
    const int rc =
        posix_spawnp(&p.pid_, options.path.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        p.pid_ = -1;
        throw std::runtime_error("cannot start " + options.path + ": " + std::strerror(rc));
    }
    return p;
}

process::process(process&& other) noexcept {
    *this = std::move(other);
}

process& process::operator=(process&& other) noexcept {
    if (this != &other) {
        if (pid_ > 0) {
            stop();
        }
        pid_ = std::exchange(other.pid_, -1);
        name_ = std::move(other.name_);
        status_ = std::exchange(other.status_, std::nullopt);
        logs_ = std::move(other.logs_);
        stdout_path_ = std::move(other.stdout_path_);
        stderr_path_ = std::move(other.stderr_path_);
    }
    return *this;
}

process::~process() {
    if (pid_ <= 0) {
        return;
    }
    stop();
    if (::testing::Test::HasFailure()) {
        std::cerr << "---- " << name_ << " (pid " << pid_ << ") stderr:\n"
                  << tail(stderr_text(), 4000) << "\n---- end of " << name_ << "\n";
    }
}

void process::reap(int status) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool process::running() {
    return pid_ > 0 && !exit_status().has_value();
}

void process::signal(int sig) {
    if (pid_ > 0 && !exit_status()) {
        ::kill(pid_, sig);
    }
}

std::optional<int> process::exit_status() {
    if (status_ || pid_ <= 0) {
        return status_;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reap(status);
    }
    return status_;
}

std::optional<int> process::wait_exit(std::chrono::milliseconds timeout) {
    wait_until([&] { return exit_status().has_value(); }, timeout, 5ms);
    return status_;
}

int process::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0) {
        return -1;  // never kill(-1, ...): that would signal every process we may signal
    }
    signal(SIGTERM);
    if (!wait_exit(grace)) {
        std::cerr << name_ << " (pid " << pid_ << ") ignored SIGTERM for " << grace.count()
                  << " ms: SIGKILL\n";
        ::kill(pid_, SIGKILL);
        int status = 0;
        if (::waitpid(pid_, &status, 0) == pid_) {
            reap(status);
        }
    }
    return status_.value_or(-1);
}

bool process::wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout,
                            const std::string& host) {
    return wait_until([&] { return !running() || port_accepts(host, port); }, timeout) && running();
}

bool process::wait_for_output(std::string_view text, std::chrono::milliseconds timeout,
                              int occurrences) {
    auto seen = [&] {
        return count_occurrences(stdout_text(), text) + count_occurrences(stderr_text(), text) >=
               static_cast<std::size_t>(occurrences);
    };
    // A child that exited may still have printed it just before.
    return wait_until([&] { return seen() || !running(); }, timeout) && seen();
}

std::string process::stdout_text() const {
    return read_file(stdout_path_);
}
std::string process::stderr_text() const {
    return read_file(stderr_path_);
}

command_result run_command(process_options options, std::chrono::milliseconds timeout) {
    auto p = process::start(std::move(options));
    command_result result;
    if (auto status = p.wait_exit(timeout)) {
        result.exit_status = *status;
    } else {
        p.stop(1s);
    }
    result.out = p.stdout_text();
    result.err = p.stderr_text();
    return result;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
        if (done()) {
            return true;
        }
        if (clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(interval);
    }
}

bool wait_for_file(const std::filesystem::path& path, std::chrono::milliseconds timeout) {
    return wait_until([&] { return std::filesystem::exists(path); }, timeout);
}

bool port_accepts(const std::string& host, std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    const bool ok = ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1 &&
                    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string bin_path(std::string_view name) {
    return (std::filesystem::path(SPILLWAY_BIN_DIR) / name).string();
}

std::optional<long> proc_status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            std::istringstream value(line.substr(field.size() + 1));
            long kib = 0;
            if (value >> kib) {
                return kib;
            }
        }
    }
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> proc_cpu_time(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    // The command name (field 2) is in parentheses and may hold spaces: fields count after it.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    long utime = 0;
    long stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) {
            utime = std::stol(field);
        } else if (i == 15) {
            stime = std::stol(field);
            const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
            return std::chrono::milliseconds((utime + stime) * 1000 / ticks_per_second);
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> proc_open_fds(pid_t pid) {
    std::error_code ec;
    std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
    if (ec) {
        return std::nullopt;
    }
    std::size_t n = 0;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec) {
            return std::nullopt;
        }
        ++n;
    }
    return n;
}

}  // namespace spillway::test
