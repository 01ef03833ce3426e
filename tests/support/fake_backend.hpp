#pragma once
// A scriptable HTTP/1.1 backend for integration tests: listens on 127.0.0.1 (port 0), serves on
// its own thread (Boost.Beast, coroutines), records every request it receives (method, target,
// headers in order, body) and counts accepted connections. Each path can be scripted: status,
// headers, a literal or generated body, chunked framing, a delay before answering, or a close
// without answering. Keep-alive like a real server; HEAD, 1xx, 204 and 304 get no body.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spillway::test {

using namespace std::chrono_literals;

using header_list = std::vector<std::pair<std::string, std::string>>;

// The first value of a header (case-insensitive name), and how many times the name occurs.
std::optional<std::string> find_header(const header_list& headers, std::string_view name);
std::size_t count_header(const header_list& headers, std::string_view name);

struct recorded_request {
    std::string method;
    std::string target;
    unsigned version = 11;       // 10 or 11
    header_list headers;         // in the order received, names as sent
    std::string body;            // de-chunked by the backend's parser
    std::size_t connection = 0;  // 1-based index of the accepted connection it came on

    std::optional<std::string> header(std::string_view name) const {
        return find_header(headers, name);
    }
    std::size_t count(std::string_view name) const { return count_header(headers, name); }
};

// How the backend answers requests to one path (the target without its query).
struct route {
    unsigned status = 200;
    header_list headers;                 // written as given, in order, before the framing header
    std::optional<std::string> body;     // nullopt: "<METHOD> <target>" (unless body_bytes/echo)
    std::uint64_t body_bytes = 0;        // > 0: a generated body, byte i == pattern_byte(i)
    bool echo = false;                   // the body is the request's body
    bool chunked = false;                // Transfer-Encoding: chunked instead of Content-Length
    std::chrono::milliseconds delay{0};  // before the response head
    bool close_without_answer = false;   // read the request, then close the connection
    bool close_after = false;            // answer with Connection: close, then close
};

// The generated bodies' content: the receiver can check every byte without holding the body.
inline char pattern_byte(std::uint64_t offset) {
    return static_cast<char>('a' + offset % 26);
}

class fake_backend {
public:
    // Listens and starts serving. Throws std::system_error when it cannot listen.
    fake_backend();
    ~fake_backend();
    fake_backend(const fake_backend&) = delete;
    fake_backend& operator=(const fake_backend&) = delete;

    std::uint16_t port() const;
    std::string url() const;  // http://127.0.0.1:PORT

    // Scripts the answers for `path` (exact match on the target's path); others get route{}.
    void on(std::string path, route r);

    std::vector<recorded_request> requests() const;
    std::size_t request_count() const;
    std::size_t accepted_connections() const;

    // Blocks until at least `n` requests have been received (false on timeout).
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = 5s) const;

    // Closes the listener and every connection, then joins the thread. Idempotent.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spillway::test
