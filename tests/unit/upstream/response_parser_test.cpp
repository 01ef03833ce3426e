// upstream::response_parser without I/O: the limits Beast leaves out (chunk extensions and
// trailers against the header limit, trailers dropped, nothing thrown), and the bound on a
// connection's read buffer.

#include "spillway/upstream/pool.hpp"
#include "spillway/upstream/response_head.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <array>
#include <string>

namespace spillway::upstream {
namespace {

namespace http = boost::beast::http;

// Feeds `bytes` whole into `parser`, the body into a scratch buffer; returns the first error.
boost::system::error_code feed(response_parser& parser, const std::string& bytes) {
    static std::array<char, 1 << 20> scratch;
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!ec && !parser.is_done() && used < bytes.size()) {
        if (parser.is_header_done()) {
            parser.get().body().data = scratch.data();
            parser.get().body().size = scratch.size();
        }
        used += parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        if (ec == http::error::need_buffer) {
            ec = {};
        }
    }
    return ec;
}

const std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

TEST(ResponseParser, TrailersAreDroppedNotMerged) {
    response_parser parser;
    parser.header_limit(64 * 1024);
    EXPECT_FALSE(feed(parser, chunked_head + "1\r\nx\r\n0\r\nHost: evil\r\nX-T: 1\r\n\r\n"));
    EXPECT_TRUE(parser.is_done());
    EXPECT_EQ(parser.get().count(http::field::host), 0u);
    EXPECT_EQ(parser.get().count("X-T"), 0u);
}

TEST(ResponseParser, HugeTrailerFieldIsHeaderLimitNotAnException) {
    response_parser parser;
    parser.header_limit(64 * 1024);
    const std::string body = "1\r\nx\r\n0\r\nX-T: " + std::string(70000, 't') + "\r\n\r\n";
    boost::system::error_code ec;
    EXPECT_NO_THROW(ec = feed(parser, chunked_head + body));
    EXPECT_EQ(ec, http::error::header_limit);
}

TEST(ResponseParser, ChunkExtensionsAndTrailersShareTheHeaderLimit) {
    response_parser parser;
    parser.header_limit(1024);
    std::string body;
    for (int i = 0; i < 20; ++i) {
        body += "1;" + std::string(60, 'e') + "\r\nx\r\n";
    }
    EXPECT_EQ(feed(parser, chunked_head + body + "0\r\n\r\n"), http::error::header_limit);
}

TEST(ResponseParser, ConnectionBufferIsBounded) {
    boost::asio::io_context ioc;
    netx::deadline_sweeper sweeper(ioc.get_executor(), std::chrono::milliseconds(100));
    pool_gauges gauges;
    pool_gauges::add(gauges.open, 1);
    connection c(sweeper, gauges);
    EXPECT_EQ(c.buffer.max_size(), max_response_framing_bytes);
    EXPECT_LE(head_options{}.header_limit, max_response_framing_bytes);
}

}  // namespace
}  // namespace spillway::upstream
