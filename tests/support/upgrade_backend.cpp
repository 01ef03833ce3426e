#include "support/upgrade_backend.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::test {

namespace {

constexpr const char* default_switch =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

bool write_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        const auto w = ::send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return false;
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

struct upgrade_backend::impl {
    upgrade_script script;
    int listener = -1;
    std::uint16_t port = 0;
    std::atomic<bool> stopping{false};
    std::thread acceptor;
    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::vector<std::string> heads;
    std::vector<std::thread> connections;
    std::vector<int> fds;
    std::size_t closed = 0;
    std::size_t echoed = 0;

    void serve(int fd) {
        std::string received;
        char chunk[16 * 1024];
        while (received.find("\r\n\r\n") == std::string::npos) {
            const auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return;
            }
            received.append(chunk, static_cast<std::size_t>(n));
        }
        const auto head_end = received.find("\r\n\r\n") + 4;
        {
            std::lock_guard lock(mutex);
            heads.push_back(received.substr(0, head_end));
        }
        changed.notify_all();
        // The answer and the greeting in one write: the proxy reads them together.
        std::string answer = script.head.empty() ? default_switch : script.head;
        answer += script.greeting;
        if (!write_all(fd, answer.data(), answer.size()) || !script.echo) {
            ::shutdown(fd, SHUT_WR);  // the backend goes away
            return;
        }
        // Bytes the client sent right behind its request arrive here with the head.
        std::string early = received.substr(head_end);
        bool ok = early.empty() || write_all(fd, early.data(), early.size());
        std::size_t moved = early.size();
        while (ok) {
            const auto n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                break;
            }
            ok = write_all(fd, chunk, static_cast<std::size_t>(n));
            moved += static_cast<std::size_t>(n);
        }
        ::shutdown(fd, SHUT_WR);
        std::lock_guard lock(mutex);
        echoed += moved;
        ++closed;
        changed.notify_all();
    }

    void accept_loop() {
        while (!stopping) {
            pollfd p{listener, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) {
                continue;
            }
            const int fd = ::accept(listener, nullptr, nullptr);
            if (fd < 0) {
                continue;
            }
            std::lock_guard lock(mutex);
            fds.push_back(fd);
            connections.emplace_back([this, fd] { serve(fd); });
        }
    }
};

upgrade_backend::upgrade_backend(upgrade_script script) : impl_(std::make_unique<impl>()) {
    impl_->script = std::move(script);
    impl_->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (impl_->listener < 0 ||
        ::bind(impl_->listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(impl_->listener, 64) != 0 ||
        ::getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("upgrade_backend: cannot listen");
    }
    impl_->port = ntohs(addr.sin_port);
    impl_->acceptor = std::thread([this] { impl_->accept_loop(); });
}

upgrade_backend::~upgrade_backend() {
    impl_->stopping = true;
    impl_->acceptor.join();
    ::close(impl_->listener);
    {
        std::lock_guard lock(impl_->mutex);
        for (int fd : impl_->fds) {
            ::shutdown(fd, SHUT_RDWR);  // ends every serve() blocked in recv
        }
    }
    for (auto& t : impl_->connections) {
        t.join();
    }
    for (int fd : impl_->fds) {
        ::close(fd);
    }
}

std::string upgrade_backend::url() const {
    return "http://127.0.0.1:" + std::to_string(impl_->port);
}

std::vector<std::string> upgrade_backend::heads() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->heads;
}

bool upgrade_backend::wait_for_closed(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->closed >= n; });
}

std::size_t upgrade_backend::echoed() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->echoed;
}

}  // namespace spillway::test
