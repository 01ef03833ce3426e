// read_response_head over a real loopback connection: interim responses are skipped, 101 is
// final, and failures say whether any byte of a response arrived.

#include "spillway/upstream/response_head.hpp"

#include "unit/upstream/loopback_backend.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

namespace spillway::upstream {
namespace {

namespace net = boost::asio;

using namespace std::chrono_literals;
namespace http = boost::beast::http;

class ResponseHeadTest : public ::testing::Test {
protected:
    ResponseHeadTest() { net::co_spawn(ioc_, sweeper_.run(), net::detached); }
    ~ResponseHeadTest() override { sweeper_.stop(); }

    // Connects to a backend that answers the first request with `answer`, sends a request and
    // reads the response head.
    head_result exchange(test::reply answer, head_options options = {}) {
        test::loopback_backend backend(ioc_, [&](auto, auto) { return answer; });
        upstream::backend_stream stream(sweeper_);
        stream.socket().connect({net::ip::make_address("127.0.0.1"), backend.port()});
        net::write(stream.socket(), net::buffer(std::string_view("GET / HTTP/1.1\r\n\r\n")));
        stream.expires_after(2s);
        auto result = test::run_task(ioc_, read_response_head(stream, buffer_, parser_, options));
        EXPECT_TRUE(result.has_value()) << "read_response_head did not finish";
        return result.value_or(head_result{});
    }

    unsigned status() const { return parser_->get().result_int(); }

    net::io_context ioc_;
    netx::deadline_sweeper sweeper_{ioc_.get_executor(), 5ms};
    boost::beast::flat_buffer buffer_;
    std::optional<response_parser> parser_;
};

TEST_F(ResponseHeadTest, SkipsOneHundredContinue) {
    const auto r =
        exchange({"HTTP/1.1 100 Continue\r\n\r\n"
                  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"});

    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_EQ(status(), 200u);
    EXPECT_TRUE(r.received);
    EXPECT_EQ(parser_->content_length().value_or(0), 2u);
}

TEST_F(ResponseHeadTest, SkipsSeveralInterimResponses) {
    const auto r =
        exchange({"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                  "HTTP/1.1 100 Continue\r\n\r\n"
                  "HTTP/1.1 204 No Content\r\n\r\n"});

    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_EQ(status(), 204u);
}

TEST_F(ResponseHeadTest, SwitchingProtocolsIsFinal) {
    const auto r =
        exchange({"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\n\r\n"});

    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_EQ(status(), 101u);
}

TEST_F(ResponseHeadTest, EndlessInterimResponsesAreAnError) {
    std::string answer;
    for (int i = 0; i < 20; ++i) {
        answer += "HTTP/1.1 100 Continue\r\n\r\n";
    }

    const auto r = exchange({answer});

    EXPECT_EQ(r.error, http::error::bad_status);
}

TEST_F(ResponseHeadTest, ResponseToHeadHasNoBody) {
    const auto r =
        exchange({"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"}, {.head_request = true});

    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_TRUE(parser_->is_done());
}

TEST_F(ResponseHeadTest, CloseBeforeAnyByteReceivedNothing) {
    const auto r = exchange(test::close_without_answer());

    EXPECT_EQ(r.error, http::error::end_of_stream) << r.error.message();
    EXPECT_FALSE(r.received);
}

TEST_F(ResponseHeadTest, CloseAfterAnInterimResponseReceivedSomething) {
    const auto r = exchange({"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2", true});

    EXPECT_TRUE(r.error);
    EXPECT_TRUE(r.received);
}

TEST_F(ResponseHeadTest, DeadlineGivesTimeout) {
    test::loopback_backend backend(ioc_, [](auto, auto) { return test::reply{}; });
    upstream::backend_stream stream(sweeper_);
    stream.socket().connect({net::ip::make_address("127.0.0.1"), backend.port()});
    stream.expires_after(30ms);

    const auto r = test::run_task(ioc_, read_response_head(stream, buffer_, parser_));

    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->error, boost::beast::error::timeout) << r->error.message();
    EXPECT_FALSE(r->received);
}

}  // namespace
}  // namespace spillway::upstream
