#pragma once
// The devbroker's control listener: TCP on 127.0.0.1, one thread with poll(), one answer line
// per command line. It never touches the signal loop (main thread), and bounds what a client can
// make it hold: at most max_clients connections, a line of control_lines::max_line_bytes, and
// max_pending_output bytes of unread answers (beyond it the client's input is not read).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace spillway::devbroker {

class control_server {
public:
    static constexpr std::size_t max_clients = 16;
    static constexpr std::size_t max_pending_output = 64 * 1024;

    // Answers one command line (without "\n") with one line (without "\n").
    using handler = std::function<std::string(std::string_view line)>;

    // Listens on 127.0.0.1:port (0 = a free port) and starts the thread. Throws
    // std::system_error when it cannot listen.
    control_server(std::uint16_t port, handler on_line);
    ~control_server();  // stops the thread and closes every connection
    control_server(const control_server&) = delete;
    control_server& operator=(const control_server&) = delete;

    std::uint16_t port() const { return port_; }

private:
    void run();

    handler on_line_;
    int listen_fd_ = -1;
    int wake_fd_ = -1;  // an eventfd: written once to stop the thread
    std::uint16_t port_ = 0;
    std::thread thread_;
};

}  // namespace spillway::devbroker
