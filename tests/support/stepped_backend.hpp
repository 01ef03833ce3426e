#pragma once
// A backend that answers with raw bytes, piece by piece, when the test says: for streaming tests
// (the proxy must pass each piece on before the next exists) and for hostile responses (framing
// no honest server writes). It listens on 127.0.0.1 (port 0) and serves on its own thread. Every
// request (a head without a body) is answered with the script of its path, or the default
// script: piece i is written once the test has allowed i + 1 pieces (allow()), then the
// connection waits for the next request, or closes when the script says so. Waiting is on
// events, bounded by a timeout.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace spillway::test {

using namespace std::chrono_literals;

struct stepped_script {
    std::vector<std::string> pieces;  // written in order, each once allowed
    bool close_after = false;  // close the connection after the last piece
};

class stepped_backend {
public:
    // `allowed`: how many pieces of each script may go at once (allow() raises it).
    explicit stepped_backend(stepped_script default_script, std::size_t allowed = 1);
    ~stepped_backend();
    stepped_backend(const stepped_backend&) = delete;
    stepped_backend& operator=(const stepped_backend&) = delete;

    std::string url() const;  // http://127.0.0.1:PORT

    // Scripts the answer to requests for `path` (the target, exact match). Before requests come.
    void on(std::string path, stepped_script script);
    // Lets every answer, in progress or to come, write its first `pieces` pieces.
    void allow(std::size_t pieces);
    // Allows every piece of every script from now on.
    void allow_all() { allow(SIZE_MAX); }

    // Blocks until `n` pieces were written in all (false on timeout).
    bool wait_for_pieces(std::size_t n, std::chrono::milliseconds timeout = 5s) const;
    // Blocks until `n` connections ended: closed by the peer, a failed write, or the script.
    bool wait_for_ended_connections(std::size_t n, std::chrono::milliseconds timeout = 5s) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spillway::test
