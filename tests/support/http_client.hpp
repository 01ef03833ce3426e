#pragma once
// A raw-socket HTTP/1.1 test client: it sends exactly the bytes a test gives it (malformed ones
// included, several requests in one write for pipelining) and reads responses one at a time with
// Beast's parser, keeping bytes read past a response for the next one. Every operation is bounded
// by the client's timeout (its own io_context run for at most that long, then the operation
// cancelled), so no test can hang on it; a timed-out wait leaves the connection open.

#include "support/fake_backend.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::test {

struct response {
    boost::system::error_code error;  // set when no whole response was read
    unsigned status = 0;
    unsigned version = 0;
    std::string reason;
    header_list headers;  // in order, names as sent
    std::string body;
    bool keep_alive = false;  // what the head says about the connection

    std::optional<std::string> header(std::string_view name) const {
        return find_header(headers, name);
    }
    std::size_t count(std::string_view name) const { return count_header(headers, name); }
};

// A response whose body was checked against pattern_byte() as it arrived, never held whole.
struct streamed_response {
    boost::system::error_code error;
    unsigned status = 0;
    header_list headers;
    std::uint64_t body_bytes = 0;
    std::uint64_t first_mismatch = UINT64_MAX;  // offset of the first byte not as generated

    std::optional<std::string> header(std::string_view name) const {
        return find_header(headers, name);
    }
};

class http_client {
public:
    // Connects to 127.0.0.1:port; connect_error() tells whether it worked. `source`: the local
    // address to connect from (another loopback address such as 127.0.0.2 looks like another
    // client to the server); empty lets the kernel choose.
    explicit http_client(std::uint16_t port, std::chrono::milliseconds timeout = 5s,
                         std::string_view source = {});
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    const boost::system::error_code& connect_error() const { return connect_error_; }
    void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

    // Writes the bytes as given, in one write.
    boost::system::error_code send(std::string_view bytes);

    // Reads the next response (a 1xx is a response of its own). `head_request`: the response to
    // a HEAD, which has no body whatever its headers say.
    response read_response(bool head_request = false);

    // send() then read_response().
    response request(std::string_view bytes, bool head_request = false);

    // Reads the next response, counting its body and checking it against pattern_byte().
    streamed_response read_streamed();

    // Reads raw bytes, appending them to `received`, until `received` contains `needle`: true
    // then; false when `timeout` passes first (the connection stays open) or it closes. For
    // streamed answers, checked piece by piece; what was read is not seen by read_response().
    bool read_until(std::string_view needle, std::string& received,
                    std::chrono::milliseconds timeout = 5s);

    // Waits for the server to close the connection: true on end of stream or reset within
    // `timeout` (false leaves the connection open); whatever arrived before goes to `received`.
    bool wait_closed(std::chrono::milliseconds timeout, std::string* received = nullptr);

    // Closes our side.
    void close();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    boost::system::error_code connect_error_;
    std::chrono::milliseconds timeout_;
};

// Request bytes. `extra` headers come after Host; a Content-Length is added for a body.
std::string make_request(std::string_view method, std::string_view target,
                         const header_list& extra = {}, std::string_view body = {},
                         std::string_view host = "proxy.test", std::string_view version = "1.1");

// One request on a new connection.
response fetch(std::uint16_t port, std::string_view method, std::string_view target,
               const header_list& extra = {}, std::string_view body = {});

}  // namespace spillway::test
