#include "spillway/runtime/signals.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace spillway::runtime {

namespace {

std::atomic<bool> stop_flag{false};

extern "C" void set_stop_flag(int) {
    stop_flag = true;  // lock-free: safe in a handler
}

void close_fd(int& fd) noexcept {
    if (fd >= 0) {
        ::close(fd);
        fd = -1;
    }
}

}  // namespace

signal_waiter::signal_waiter(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : signals) {
        sigaddset(&set, sig);
    }
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    // A signalfd, not sigwait(): the wait can then also end on interrupt() (the eventfd).
    signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
    if (signal_fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "signalfd");
    }
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        const int error = errno;
        close_fd(signal_fd_);
        throw std::system_error(error, std::generic_category(), "eventfd");
    }
}

signal_waiter::~signal_waiter() {
    close_fd(signal_fd_);
    close_fd(wake_fd_);
}

int signal_waiter::wait() noexcept {
    for (;;) {
        pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            continue;  // EINTR (a handler of some other signal ran), or ENOMEM: try again
        }
        if ((fds[1].revents & POLLIN) != 0) {
            return 0;  // the eventfd is never read: every later wait() returns at once too
        }
        signalfd_siginfo info{};
        if ((fds[0].revents & POLLIN) != 0 &&
            ::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            return static_cast<int>(info.ssi_signo);
        }
    }
}

void signal_waiter::interrupt() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

std::optional<std::string> wait_for_termination(signal_waiter& signals) {
    const int sig = signals.wait();
    if (sig == 0) {
        return std::nullopt;
    }
    return signal_name(sig);
}

std::string signal_name(int sig) {
    if (const char* abbrev = ::sigabbrev_np(sig)) {
        return std::string("SIG") + abbrev;
    }
    return "signal " + std::to_string(sig);
}

const std::atomic<bool>& stop_flag_on_signals() {
    for (int sig : {SIGTERM, SIGINT, SIGPIPE}) {
        std::signal(sig, set_stop_flag);
    }
    return stop_flag;
}

}  // namespace spillway::runtime
