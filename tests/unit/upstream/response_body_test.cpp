// Reading a response body piece by piece: parse_buffered_body without sockets (every body byte
// that is in the buffer comes out at once, however the framing around it is cut), and
// read_body_some over a loopback connection (how a body ends, and hostile framing failing with an
// error code, within the buffer's bound).

#include "spillway/upstream/response_body.hpp"

#include "unit/upstream/loopback_backend.hpp"

#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <array>
#include <string>

namespace spillway::upstream {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

class ParseBufferedBodyTest : public ::testing::Test {
protected:
    // Parses `head` as a connection would (what came with it stays in the buffer).
    void start(const std::string& head_and_more) {
        add(head_and_more);
        boost::system::error_code ec;
        const auto used = parser_.put(buffer_.data(), ec);
        ASSERT_FALSE(ec) << ec.message();
        ASSERT_TRUE(parser_.is_header_done());
        buffer_.consume(used);
    }

    void add(std::string_view bytes) {
        const auto n = boost::asio::buffer_copy(buffer_.prepare(bytes.size()),
                                                boost::asio::buffer(bytes.data(), bytes.size()));
        buffer_.commit(n);
    }

    // The next piece, of at most `room` bytes; its bytes as a string.
    std::string next(std::size_t room = 64) {
        const auto piece = parse_buffered_body(parser_, buffer_, std::span(out_.data(), room));
        error_ = piece.error;
        return {out_.data(), piece.bytes};
    }

    response_parser parser_;
    boost::beast::flat_buffer buffer_{max_response_framing_bytes};
    std::array<char, 1024> out_{};
    boost::system::error_code error_;
};

TEST_F(ParseBufferedBodyTest, ContentLengthBodyComesOutAsItIsBuffered) {
    start("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
    EXPECT_EQ(next(), "hello");
    EXPECT_FALSE(parser_.is_done());
    add("world");
    EXPECT_EQ(next(), "world");
    EXPECT_TRUE(parser_.is_done());
    EXPECT_FALSE(error_);
}

TEST_F(ParseBufferedBodyTest, APieceIsAtMostTheRoomGiven) {
    start("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    EXPECT_EQ(next(4), "0123");
    EXPECT_EQ(next(4), "4567");
    EXPECT_EQ(next(4), "89");
    EXPECT_TRUE(parser_.is_done());
}

TEST_F(ParseBufferedBodyTest, EveryWholeChunkInTheBufferComesOutInOnePiece) {
    start(chunked_head + "3\r\nabc\r\n2\r\nde\r\n1;name=value\r\nf\r\n0\r\n\r\n");
    EXPECT_EQ(next(), "abcdef");
    EXPECT_TRUE(parser_.is_done());
    EXPECT_FALSE(error_);
}

TEST_F(ParseBufferedBodyTest, AChunksDataComesOutBeforeTheFramingAfterItArrives) {
    // An event's chunk ends with CRLF, which the parser reads with the next chunk's size line:
    // the event must not wait for that line.
    start(chunked_head + "5\r\nhello\r\n");
    EXPECT_EQ(next(), "hello");
    EXPECT_FALSE(parser_.is_done());
    EXPECT_EQ(next(), "");
    add("5\r\nworld\r\n0\r\n\r\n");
    EXPECT_EQ(next(), "world");
    EXPECT_TRUE(parser_.is_done());
}

TEST_F(ParseBufferedBodyTest, PartOfAChunkComesOutAtOnce) {
    start(chunked_head + "a\r\nhel");
    EXPECT_EQ(next(), "hel");
    add("lo worl");
    EXPECT_EQ(next(), "lo worl");
    add("\r\n0\r\n\r\n");
    EXPECT_EQ(next(), "");
    EXPECT_TRUE(parser_.is_done());
}

TEST_F(ParseBufferedBodyTest, ASizeLineAloneGivesNothingAndNoError) {
    start(chunked_head + "5\r\n");
    EXPECT_EQ(next(), "");
    EXPECT_FALSE(error_);
    EXPECT_FALSE(parser_.is_done());
    add("hello\r\n");
    EXPECT_EQ(next(), "hello");
}

TEST_F(ParseBufferedBodyTest, AnIncompleteSizeLineStaysInTheBuffer) {
    start(chunked_head + "5;ext=aaaa");
    EXPECT_EQ(next(), "");
    EXPECT_FALSE(error_);
    EXPECT_EQ(buffer_.size(), 10u);
}

TEST_F(ParseBufferedBodyTest, TrailersEndTheBodyAndAddNothingToIt) {
    start(chunked_head + "3\r\nabc\r\n0\r\nX-Trailer: value\r\nChecksum: 1\r\n\r\n");
    EXPECT_EQ(next(), "abc");
    EXPECT_TRUE(parser_.is_done());
    EXPECT_FALSE(error_);
    EXPECT_EQ(buffer_.size(), 0u);
}

TEST_F(ParseBufferedBodyTest, UntilCloseBodyComesOutAsBuffered) {
    start("HTTP/1.1 200 OK\r\n\r\nsome");
    EXPECT_EQ(next(), "some");
    EXPECT_FALSE(parser_.is_done());
}

TEST_F(ParseBufferedBodyTest, ABadChunkSizeIsAnError) {
    start(chunked_head + "zz\r\nhello\r\n");
    EXPECT_EQ(next(), "");
    EXPECT_EQ(error_, http::error::bad_chunk);
}

TEST_F(ParseBufferedBodyTest, BytesAfterTheBodyStayInTheBuffer) {
    start("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1");
    EXPECT_EQ(next(), "ok");
    EXPECT_TRUE(parser_.is_done());
    EXPECT_EQ(buffer_.size(), 8u);
}

// read_body_some over a real connection to a backend that writes `answer` and maybe closes.
class ReadBodySomeTest : public ::testing::Test {
protected:
    ReadBodySomeTest() { net::co_spawn(ioc_, sweeper_.run(), net::detached); }
    ~ReadBodySomeTest() override { sweeper_.stop(); }

    struct outcome {
        std::string body;
        boost::system::error_code error;
        bool done = false;
        std::size_t buffered_at_most = 0;  // the buffer's largest size seen
    };

    // Reads the head, then the body until it ends or fails.
    outcome read(test::reply answer) {
        test::loopback_backend backend(ioc_, [&](auto, auto) { return answer; });
        upstream::backend_stream stream(sweeper_);
        stream.socket().connect({net::ip::make_address("127.0.0.1"), backend.port()});
        net::write(stream.socket(), net::buffer(std::string_view("GET / HTTP/1.1\r\n\r\n")));
        stream.expires_after(2s);
        auto t = [&]() -> netx::task<outcome> {
            outcome o;
            std::optional<response_parser> parser;
            const auto head = co_await read_response_head(stream, buffer_, parser);
            if (head.error) {
                o.error = head.error;
                co_return o;
            }
            std::array<char, 4096> out;
            while (!parser->is_done()) {
                const auto piece = co_await read_body_some(stream, buffer_, *parser, out);
                o.buffered_at_most = std::max(o.buffered_at_most, buffer_.size());
                o.body.append(out.data(), piece.bytes);
                if (piece.error) {
                    o.error = piece.error;
                    break;
                }
            }
            o.done = parser->is_done();
            co_return o;
        };
        auto result = test::run_task(ioc_, t());
        EXPECT_TRUE(result.has_value()) << "the read did not finish";
        return result.value_or(outcome{});
    }

    net::io_context ioc_;
    netx::deadline_sweeper sweeper_{ioc_.get_executor(), 5ms};
    boost::beast::flat_buffer buffer_;  // unbounded: the reader bounds it
};

TEST_F(ReadBodySomeTest, ABodyUntilCloseEndsWithTheConnection) {
    const auto o = read({"HTTP/1.1 200 OK\r\n\r\nuntil the end", true});
    EXPECT_FALSE(o.error) << o.error.message();
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.body, "until the end");
}

TEST_F(ReadBodySomeTest, ALengthCutShortIsAPartialMessage) {
    const auto o = read({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true});
    EXPECT_EQ(o.error, http::error::partial_message);
    EXPECT_EQ(o.body, "abc");
}

TEST_F(ReadBodySomeTest, AChunkedBodyArrivesWhole) {
    std::string answer = chunked_head;
    std::string expected;
    for (int i = 0; i < 300; ++i) {
        answer += "a\r\n0123456789\r\n";
        expected += "0123456789";
    }
    const auto o = read({answer + "0\r\n\r\n"});
    EXPECT_FALSE(o.error) << o.error.message();
    EXPECT_EQ(o.body, expected);
}

TEST_F(ReadBodySomeTest, AnEndlessChunkSizeLineOverflowsTheBoundedBuffer) {
    const auto o = read({chunked_head + "5\r\nhello\r\n1;" + std::string(1024 * 1024, 'a'), true});
    EXPECT_EQ(o.error, http::error::buffer_overflow) << o.error.message();
    EXPECT_EQ(o.body, "hello");
    EXPECT_LE(o.buffered_at_most, max_response_framing_bytes);
}

TEST_F(ReadBodySomeTest, ATrailerFieldBeyondBeastsLimitIsAnErrorNotAnException) {
    const auto o =
        read({chunked_head + "5\r\nhello\r\n0\r\nX-Big: " + std::string(70'000, 'a') + "\r\n\r\n"});
    EXPECT_EQ(o.error, http::error::buffer_overflow) << o.error.message();
    EXPECT_EQ(o.body, "hello");
}

TEST_F(ReadBodySomeTest, ATrailerSectionWithinTheBoundIsRead) {
    const auto o =
        read({chunked_head + "5\r\nhello\r\n0\r\nX-Big: " + std::string(60'000, 'a') + "\r\n\r\n"});
    EXPECT_FALSE(o.error) << o.error.message();
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.body, "hello");
}

TEST_F(ReadBodySomeTest, AHeadBeyondTheLimitIsAnError) {
    const auto o = read({"HTTP/1.1 200 OK\r\nX-Long: " + std::string(1024 * 1024, 'a'), true});
    EXPECT_TRUE(o.error == http::error::header_limit || o.error == http::error::buffer_overflow)
        << o.error.message();
}

}  // namespace
}  // namespace spillway::upstream
