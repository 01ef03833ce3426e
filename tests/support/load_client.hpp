#pragma once
// A load client for the proxy: many keep-alive connections at once on one thread, each sending
// its next request as soon as it has the previous answer, the whole run bounded in time.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spillway::test {

using namespace std::chrono_literals;

// What the load client got for one request.
struct answer {
    unsigned status = 0;
    std::string body;
    std::string request_id;  // the X-Request-Id header
    std::chrono::steady_clock::duration took{};
};

struct load_options {
    std::uint16_t port = 0;
    std::size_t connections = 1;
    std::size_t requests = 1;
    std::string method = "POST";
    std::string target = "/load";  // "?n=<index>" is appended
    std::string body = "{}";
    std::chrono::milliseconds timeout = 30s;  // the whole run
};

struct load_result {
    std::vector<answer> answers;  // one per request that got a whole response
    std::size_t errors = 0;  // requests without a response (connection lost, timeout)
};

// Sends `requests` requests over `connections` keep-alive connections at once, each connection
// sending its next request as soon as it has the previous answer. Bounded by options.timeout.
load_result run_load(const load_options& options);

}  // namespace spillway::test
