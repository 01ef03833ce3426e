#pragma once
// A scriptable HTTP/1.1 backend for integration tests: listens on 127.0.0.1 (port 0), serves on
// its own thread (Boost.Asio coroutines), records every request it receives (byte for byte as
// received, and parsed: method, target, headers in order, body; with the status it was given)
// and counts accepted connections. Each path can be scripted: status, headers, a literal or
// generated body, chunked framing, a delay before answering, or a close without answering; a
// script of statuses can answer the next requests whatever their path. Keep-alive like a real
// server; HEAD, 1xx, 204 and 304 get no body. It can also act as an idempotent API (a request
// whose Idempotency-Key already took effect is answered 200 and takes no effect again), go down
// (connections refused, open ones reset) and come back on the same port, and hold its answers
// to freeze a client mid-flight. Waiting is on events, bounded by a timeout.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
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
    unsigned version = 11;  // 10 or 11
    header_list headers;  // in the order received, names as sent
    std::string body;  // de-chunked by the backend's parser
    std::size_t connection = 0;  // 1-based index of the accepted connection it came on
    std::string raw;  // head and body exactly as received (chunked framing included)
    unsigned status = 0;  // the status it was (or, when held, will be) answered with;
                          // 0 when the backend closed without answering
    std::chrono::steady_clock::time_point received_at;  // when its head and body were read

    std::optional<std::string> header(std::string_view name) const {
        return find_header(headers, name);
    }
    std::size_t count(std::string_view name) const { return count_header(headers, name); }
};

// How the backend answers requests to one path (the target without its query).
struct route {
    unsigned status = 200;
    header_list headers;  // written as given, in order, before the framing header
    std::optional<std::string> body;  // nullopt: "<METHOD> <target>" (unless body_bytes/echo)
    std::uint64_t body_bytes = 0;  // > 0: a generated body, byte i == pattern_byte(i)
    bool echo = false;  // the body is the request's body
    bool chunked = false;  // Transfer-Encoding: chunked instead of Content-Length
    std::chrono::milliseconds delay{0};  // before the response head
    bool close_without_answer = false;  // read the request, then close the connection
    bool close_after = false;  // answer with Connection: close, then close
};

// The generated bodies' content: the receiver can check every byte without holding the body.
inline char pattern_byte(std::uint64_t offset) {
    return static_cast<char>('a' + offset % 26);
}

// A certificate and its key (PEM files, e.g. from test_ca::issue) for an HTTPS backend.
struct tls_identity {
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
};

class fake_backend {
public:
    // Listens and starts serving. Throws std::system_error when it cannot listen.
    fake_backend();
    // The same, speaking HTTPS: each connection's TLS handshake comes first (a failed one is
    // counted, and nothing of a request is read). Throws when the files do not load.
    explicit fake_backend(const tls_identity& identity);
    ~fake_backend();
    fake_backend(const fake_backend&) = delete;
    fake_backend& operator=(const fake_backend&) = delete;

    std::uint16_t port() const;
    std::string url() const;  // http://127.0.0.1:PORT (https:// when it speaks TLS)
    std::size_t tls_handshakes() const;  // completed
    std::size_t tls_resumed_handshakes() const;  // of those, resuming an earlier session
    std::size_t tls_handshake_failures() const;

    // Scripts the answers for `path` (exact match on the target's path); others get the default.
    void on(std::string path, route r);
    // The answer for paths without a route of their own (route{} unless set).
    void set_default(route r);
    // The statuses of the next answers, in order, whatever the path (the rest of each answer is
    // the path's route); afterwards the routes' own statuses.
    void script(std::vector<unsigned> statuses);
    // Acts as an idempotent API: a request whose Idempotency-Key already took effect is answered
    // 200 and takes no effect again (counted in duplicates()).
    void dedupe_idempotency_keys(bool on = true);
    // Requests to `path` (the replay's probe) are answered by the path's route only: not
    // scripted, held, deduped or recorded in requests(); they are counted in probe_count().
    void set_probe_path(std::string path);
    std::size_t probe_count() const;

    std::vector<recorded_request> requests() const;
    std::size_t request_count() const;
    std::size_t accepted_connections() const;
    // Idempotency-Key -> how many times a request with it took effect (was given a 2xx).
    std::map<std::string, unsigned> effects() const;
    std::size_t duplicates() const;  // requests answered as already done (dedupe)

    // Blocks until at least `n` requests have been received (false on timeout).
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = 5s) const;
    // Blocks until requests with `distinct_keys` Idempotency-Keys have taken effect.
    bool wait_for_effects(std::size_t distinct_keys, std::chrono::milliseconds timeout = 5s) const;

    // Stops listening and resets every open connection (as when the process dies); returns once
    // connects are refused.
    void go_down();
    // Listens again on the same port; returns once it accepts.
    void come_back();

    // After `n` more requests have been answered, later requests are recorded (and take effect)
    // but their answers are held until release().
    void hold_after(std::size_t n);
    void release();

    // From now on, a request that arrives while `n` are in progress (received, not yet answered)
    // is answered 503 at once, takes no effect and holds no place: a backend with a hard
    // concurrency limit that sheds the excess. Use with a route delay, so that requests overlap.
    void overloaded_above(std::size_t n);
    std::size_t overloaded_answers() const;
    // True once at least `n` requests were answered 503 for it.
    bool wait_for_overloaded_answers(std::size_t n, std::chrono::milliseconds timeout);

    // Closes the listener and every connection, then joins the thread. Idempotent.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spillway::test
