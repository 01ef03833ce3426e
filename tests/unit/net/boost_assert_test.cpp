// src/net/boost_assert.cpp: Beast's one wrong assertion does not abort a build with assertions,
// so a client that sends an empty chunked body a few bytes at a time is read like any other.

#include "spillway/http/request_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <string>

namespace spillway::netx {
namespace {

TEST(BoostAssert, EmptyChunkedBodyArrivingByteByByte) {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string body = "0\r\n\r\n";
    http_util::request_parser parser;
    boost::system::error_code ec;
    EXPECT_EQ(parser.put(boost::asio::buffer(head), ec), head.size());
    ASSERT_FALSE(ec);
    // Beast's put is given everything not consumed yet, one more byte each time ("0\r\n\r" is
    // where Boost 1.81 asserts n >= 5).
    std::size_t used = 0;
    for (std::size_t end = 1; end <= body.size() && !parser.is_done(); ++end) {
        used += parser.put(boost::asio::buffer(body.data() + used, end - used), ec);
        if (ec == boost::beast::http::error::need_more) {
            ec = {};
        }
        ASSERT_FALSE(ec) << ec.message();
    }
    EXPECT_TRUE(parser.is_done());
    EXPECT_TRUE(parser.get().body().empty());
}

}  // namespace
}  // namespace spillway::netx
