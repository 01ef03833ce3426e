#pragma once
// A backend for protocol upgrades (WebSocket-style): it reads a request head and answers as
// scripted, by default 101 Switching Protocols followed at once, in the same write, by a greeting,
// then echoes every byte back until the peer closes. It records the heads it received and counts
// the tunnels that ended (end of stream from the proxy). Listens on 127.0.0.1 (port 0), one thread
// per connection; waits are on events, bounded by a timeout.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace spillway::test {

using namespace std::chrono_literals;

struct upgrade_script {
    // The answer's head, written with `greeting` right behind it. "" answers the default 101.
    std::string head;
    std::string greeting = "server-hello";
    bool echo = true;  // after the answer, echo until the peer closes (else close at once)
};

class upgrade_backend {
public:
    explicit upgrade_backend(upgrade_script script = {});
    ~upgrade_backend();
    upgrade_backend(const upgrade_backend&) = delete;
    upgrade_backend& operator=(const upgrade_backend&) = delete;

    std::string url() const;  // http://127.0.0.1:PORT

    // The request heads received so far, in order (each up to and with its blank line).
    std::vector<std::string> heads() const;
    // Blocks until `n` connections ended with an end of stream or reset from the proxy.
    bool wait_for_closed(std::size_t n, std::chrono::milliseconds timeout = 5s) const;
    // Bytes echoed so far, over every connection.
    std::size_t echoed() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spillway::test
