#pragma once
// A client of the devbroker's control listener (docs/devbroker.md, "Control"): one connection,
// a command line out, its answer line back. Every read and write is bounded in time; a failure
// throws std::runtime_error.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::test {

using namespace std::chrono_literals;

class control_client {
public:
    // Connects to 127.0.0.1:port.
    explicit control_client(std::uint16_t port, std::chrono::milliseconds timeout = 10s);
    ~control_client();
    control_client(const control_client&) = delete;
    control_client& operator=(const control_client&) = delete;

    // Sends `line` and "\n"; returns the answer line without its "\n". Throws when none comes.
    std::string command(std::string_view line);

    // Sends bytes as they are (no "\n" added).
    void send_raw(std::string_view bytes);
    // The next answer line; nullopt when the listener closed the connection (or on timeout).
    std::optional<std::string> read_line();

private:
    int fd_ = -1;
    std::string pending_;  // bytes read past the last line returned
};

}  // namespace spillway::test
