// The response writer's answers of the proxy's own: written byte for byte as built, fields in
// order, then the body, in one write. (The framing of relayed responses is in
// message_heads_test.cpp, with the heads it builds.)

#include "spillway/proxy/response_writer.hpp"

#include <boost/asio/buffer.hpp>
#include <gtest/gtest.h>

#include <string>

namespace spillway::proxy {
namespace {

// What one write of the writer's next piece would put on the wire.
std::string wire_of_local(const client_response& res) {
    std::string head;  // the writer builds the head in the caller's buffer
    response_writer writer(head);
    writer.start_local(res);
    const auto piece = writer.next(res.body().data(), res.body().size(), true);
    std::string out;
    for (const auto& b : piece.buffers()) {
        out.append(static_cast<const char*>(b.data()), b.size());
    }
    return out;
}

TEST(ResponseWriter, LocalAnswerWrittenAsBuiltWithTheMessagesVersion) {
    client_response res{http::status::service_unavailable, 11};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::retry_after, "30");
    res.set("X-Request-Id", "abc");
    res.body() = R"({"queued":true})";
    res.keep_alive(false);
    res.prepare_payload();
    EXPECT_EQ(wire_of_local(res),
              "HTTP/1.1 503 Service Unavailable\r\n"
              "Content-Type: application/json\r\n"
              "Retry-After: 30\r\n"
              "X-Request-Id: abc\r\n"
              "Connection: close\r\n"
              "Content-Length: 15\r\n"
              "\r\n"
              R"({"queued":true})");
}

TEST(ResponseWriter, LocalAnswerWithoutBodyKeepsHttp10) {
    client_response old{http::status::bad_gateway, 10};
    old.prepare_payload();
    EXPECT_EQ(wire_of_local(old), "HTTP/1.0 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace spillway::proxy
