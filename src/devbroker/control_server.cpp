#include "spillway/devbroker/control_server.hpp"

#include "spillway/devbroker/control_lines.hpp"
#include "spillway/runtime/logging.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::devbroker {

namespace {

struct client {
    explicit client(int f) : fd(f) {}
    ~client() { ::close(fd); }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    int fd;
    control_lines lines;
    std::string out;  // answers not yet sent
    bool closing = false;  // the peer finished, or sent too long a line: close once answered
};

bool wants_input(const client& c) {
    return !c.closing && c.out.size() < control_server::max_pending_output;
}

void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// Answers the whole lines already read, while the client's unread answers stay within bound.
void answer_lines(client& c, const control_server::handler& on_line) {
    while (c.out.size() < control_server::max_pending_output) {
        auto line = c.lines.next_line();
        if (!line) {
            break;
        }
        try {
            c.out += on_line(*line);
        } catch (const std::exception& e) {
            c.out += std::string("error internal: ") + e.what();
        }
        c.out += '\n';
    }
    if (c.lines.overflowed() && !c.closing) {
        runtime::logger("devbroker")
            ->warn("control: a line over {} bytes: connection closed",
                   control_lines::max_line_bytes);
        c.out += "error line longer than " + std::to_string(control_lines::max_line_bytes) +
                 " bytes: closing\n";
        c.closing = true;
    }
}

// Reads, answers and writes what poll() said is ready; false when the connection is done.
bool serve(client& c, short revents, const control_server::handler& on_line) {
    if (wants_input(c) && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buf[4096];
        const auto n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            c.lines.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        } else if (n == 0) {
            c.closing = true;  // half-closed: the answers still go out
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return false;
        }
    } else if ((revents & (POLLHUP | POLLERR)) != 0 && (revents & POLLOUT) == 0) {
        return false;  // gone while its answers waited
    }
    answer_lines(c, on_line);
    if (!c.out.empty()) {
        const auto n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return false;
        }
        answer_lines(c, on_line);  // lines held back while the output was full
    }
    return !(c.closing && c.out.empty());
}

void accept_clients(int listen_fd, std::vector<std::unique_ptr<client>>& clients) {
    for (;;) {
        const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;  // EAGAIN, or a failure the next poll() reports again
        }
        if (clients.size() >= control_server::max_clients) {
            const std::string refusal = "error too many control connections (at most " +
                                        std::to_string(control_server::max_clients) + ")\n";
            (void)::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            ::close(fd);
            runtime::logger("devbroker")->warn("control: a connection refused: too many");
            continue;
        }
        clients.push_back(std::make_unique<client>(fd));
    }
}

}  // namespace

control_server::control_server(std::uint16_t port, handler on_line) : on_line_(std::move(on_line)) {
    try {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (listen_fd_ < 0) {
            throw_errno("control listener: socket");
        }
        const int on = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only: it has no access control
        addr.sin_port = htons(port);
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw_errno(("control listener: bind 127.0.0.1:" + std::to_string(port)).c_str());
        }
        if (::listen(listen_fd_, 16) != 0) {
            throw_errno("control listener: listen");
        }
        socklen_t len = sizeof addr;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_fd_ < 0) {
            throw_errno("control listener: eventfd");
        }
    } catch (...) {
        if (listen_fd_ >= 0) {
            ::close(listen_fd_);
        }
        throw;
    }
    thread_ = std::thread([this] { run(); });
}

control_server::~control_server() {
    const std::uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
    thread_.join();
    ::close(wake_fd_);
    ::close(listen_fd_);
}

void control_server::run() {
    std::vector<std::unique_ptr<client>> clients;
    std::vector<pollfd> fds;
    for (;;) {
        fds.assign({{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}});
        for (const auto& c : clients) {
            const short events =
                static_cast<short>((wants_input(*c) ? POLLIN : 0) | (c->out.empty() ? 0 : POLLOUT));
            fds.push_back({c->fd, events, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            runtime::logger("devbroker")
                ->error("control listener stopped: poll: {}", std::strerror(errno));
            return;
        }
        if (fds[0].revents != 0) {
            return;
        }
        // fds[i + 2] is clients[i]'s: served by index, then the finished ones dropped.
        for (std::size_t i = 0; i < clients.size(); ++i) {
            if (!serve(*clients[i], fds[i + 2].revents, on_line_)) {
                clients[i].reset();
            }
        }
        std::erase(clients, nullptr);
        if ((fds[1].revents & POLLIN) != 0) {
            accept_clients(listen_fd_, clients);
        }
    }
}

}  // namespace spillway::devbroker
