// Responses reach the client as their bytes arrive (DESIGN.md, "The proxy"): the backend sends
// an event, and sends the next one only once the client has received it, as a server-sent event
// stream or a token-streaming API would when the next event depends on the reader. A proxy that
// held bytes back to fill a buffer would never pass the first event on: the client's bounded wait
// fails the test instead of hanging it. For each framing the backend can use: chunked, a
// Content-Length, until close.

#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"
#include "support/stepped_backend.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace spillway::test {
namespace {

const std::string event_1 = "data: event 1\n\n";
const std::string event_2 = "data: event 2\n\n";

std::string chunk(const std::string& data) {
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
}

std::string head(std::string_view framing) {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
           std::string(framing) + "\r\n";
}

bool has(const std::string& s, std::string_view part) {
    return s.find(part) != std::string::npos;
}

// The exchange, piece by piece: the backend's pieces are the head (with event 1 when
// `head_with_event`), event 1, event 2, the end; each is allowed once the client has what came
// before it. Returns what the client received.
std::string stream_events(stepped_backend& backend, std::uint16_t proxy_port,
                          std::string_view version, bool head_with_event) {
    http_client client(proxy_port);
    EXPECT_FALSE(client.send(make_request("GET", "/events", {}, {}, "proxy.test", version)));
    std::string got;
    std::size_t allowed = 1;
    if (!head_with_event) {
        // The head goes on before any of the body exists.
        EXPECT_TRUE(client.read_until("\r\n\r\n", got)) << "no head yet: " << got;
        EXPECT_FALSE(has(got, "event 1")) << got;
        backend.allow(++allowed);
    }
    EXPECT_TRUE(client.read_until("event 1", got)) << "event 1 was held back: " << got;
    EXPECT_FALSE(has(got, "event 2")) << got;
    backend.allow(++allowed);
    EXPECT_TRUE(client.read_until("event 2", got)) << "event 2 was held back: " << got;
    backend.allow_all();
    if (version == "1.0") {
        EXPECT_TRUE(client.wait_closed(5s, &got)) << "the body did not end with the connection";
    } else if (has(got, "Transfer-Encoding: chunked")) {
        EXPECT_TRUE(client.read_until("0\r\n\r\n", got)) << "no last chunk: " << got;
    }
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
    EXPECT_TRUE(has(got, "Content-Type: text/event-stream\r\n")) << got;
    return got;
}

// The same response again, all of it at once, on a new connection read by a real parser: the
// framing the client got is whole and the body is the events.
void expect_whole_response(std::uint16_t proxy_port) {
    auto res = fetch(proxy_port, "GET", "/events");
    ASSERT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, event_1 + event_2);
}

TEST(ProxyEventStream, ChunkedEventsArriveOneByOne) {
    stepped_backend backend(
        {{head("Transfer-Encoding: chunked\r\n"), chunk(event_1), chunk(event_2), "0\r\n\r\n"}});
    spillway_proxy proxy(backend.url());

    const auto got = stream_events(backend, proxy.port(), "1.1", false);
    EXPECT_TRUE(has(got, "Transfer-Encoding: chunked\r\n")) << got;
    expect_whole_response(proxy.port());
}

TEST(ProxyEventStream, ContentLengthEventsArriveOneByOne) {
    const auto length = std::to_string(event_1.size() + event_2.size());
    stepped_backend backend({{head("Content-Length: " + length + "\r\n") + event_1, event_2}});
    spillway_proxy proxy(backend.url());

    const auto got = stream_events(backend, proxy.port(), "1.1", true);
    EXPECT_TRUE(has(got, "Content-Length: " + length + "\r\n")) << got;
    EXPECT_EQ(got.substr(got.size() - event_1.size() - event_2.size()), event_1 + event_2);
    expect_whole_response(proxy.port());
}

TEST(ProxyEventStream, UntilCloseEventsArriveOneByOneRechunked) {
    stepped_backend backend({{head("") + event_1, event_2}, true});
    spillway_proxy proxy(backend.url());

    // An HTTP/1.1 client gets the body re-chunked, so its connection can stay open.
    const auto got = stream_events(backend, proxy.port(), "1.1", true);
    EXPECT_TRUE(has(got, "Transfer-Encoding: chunked\r\n")) << got;
    expect_whole_response(proxy.port());
}

TEST(ProxyEventStream, UntilCloseEventsArriveOneByOneToAnHttp10Client) {
    stepped_backend backend({{head("") + event_1, event_2}, true});
    spillway_proxy proxy(backend.url());

    const auto got = stream_events(backend, proxy.port(), "1.0", true);
    EXPECT_TRUE(has(got, "Connection: close\r\n")) << got;
    EXPECT_EQ(got.substr(got.size() - event_1.size() - event_2.size()), event_1 + event_2);
}

}  // namespace
}  // namespace spillway::test
