// The reading core's decisions without I/O: bytes through request_parser, then
// check_request_head (RFC 9112 framing, Host, target forms) and rejection_for.

#include "spillway/http/request_rules.hpp"

#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace spillway::http_util {
namespace {

namespace http = boost::beast::http;

struct parsed {
    boost::system::error_code error;  // from the parser
    std::optional<rejection> verdict;  // from check_request_head, when the head parsed
};

// Feeds `wire` to `parser` the way the reader does: the head, the checks, then the rest.
parsed parse(request_parser& parser, std::string_view wire, std::size_t header_limit = 16384) {
    parser.limit_header_bytes(header_limit);
    parser.eager(true);
    parsed out;
    std::size_t used = 0;
    while (used < wire.size() && !parser.is_header_done()) {
        used += parser.put(boost::asio::buffer(wire.data() + used, wire.size() - used), out.error);
        if (out.error) {
            return out;
        }
    }
    if (!parser.is_header_done()) {
        out.error = http::error::need_more;
        return out;
    }
    out.verdict = check_request_head(parser);
    if (out.verdict) {
        return out;
    }
    while (used < wire.size() && !parser.is_done()) {
        used += parser.put(boost::asio::buffer(wire.data() + used, wire.size() - used), out.error);
        if (out.error) {
            return out;
        }
    }
    return out;
}

constexpr rejection bad_framing{http::status::bad_request, "bad_framing"};
constexpr rejection bad_host{http::status::bad_request, "bad_host"};
constexpr rejection bad_target{http::status::bad_request, "bad_target"};

TEST(RequestRules, ChunkedIsTheOnlyTransferCoding) {
    request_parser ok;
    const auto r = parse(ok,
                         "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\nabc\r\n0\r\n\r\n");
    EXPECT_FALSE(r.error);
    EXPECT_FALSE(r.verdict);
    EXPECT_TRUE(ok.is_done());
    EXPECT_EQ(ok.get().body(), "abc");
}

TEST(RequestRules, FinalCodingNotChunkedIsRefusedBeforeTheBodyIsRead) {
    // Beast takes "chunked, identity" as a request without a body: its body would be parsed as
    // the next request (smuggling).
    for (const char* te : {"chunked, identity", "identity", "chunked, chunked", "gzip", "",
                           "chunked;x=1", "chunked\r\nTransfer-Encoding: identity"}) {
        request_parser parser;
        const auto r = parse(parser, std::string("POST /a HTTP/1.1\r\nHost: h\r\n"
                                                 "Transfer-Encoding: ") +
                                         te + "\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
        EXPECT_TRUE(r.error || r.verdict == bad_framing) << te;
    }
}

TEST(RequestRules, OtherCodingsBeforeChunkedAreNotImplemented) {
    request_parser parser;
    const auto r =
        parse(parser, "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    ASSERT_TRUE(r.verdict);
    EXPECT_EQ(r.verdict->status, http::status::not_implemented);
}

TEST(RequestRules, TransferEncodingInHttp10IsFaultyFraming) {
    request_parser parser;
    const auto r = parse(parser, "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
    EXPECT_EQ(r.verdict, bad_framing);
}

TEST(RequestRules, ContentLengthWithTransferEncodingIsRefusedInEitherOrder) {
    for (const char* head :
         {"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
          "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
          "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: x\r\n\r\n"}) {
        request_parser parser;
        const auto r = parse(parser, head);
        EXPECT_TRUE(r.error || r.verdict == bad_framing) << head;
        if (r.error) {
            EXPECT_TRUE(rejection_for(r.error)) << head;
        }
    }
}

TEST(RequestRules, DifferingContentLengthsAreMalformed) {
    request_parser parser;
    const auto r = parse(parser,
                         "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                         "Content-Length: 4\r\n\r\nabcd");
    ASSERT_TRUE(r.error);
    EXPECT_EQ(rejection_for(r.error)->status, http::status::bad_request);
}

TEST(RequestRules, Http11NeedsExactlyOneValidHost) {
    for (const char* head :
         {"GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
          "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
          "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"}) {
        request_parser parser;
        EXPECT_EQ(parse(parser, head).verdict, bad_host) << head;
    }
    for (const char* head :
         {"GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n",
          "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"}) {
        request_parser parser;
        const auto r = parse(parser, head);
        EXPECT_FALSE(r.error) << head;
        EXPECT_FALSE(r.verdict) << head;
    }
}

TEST(RequestRules, AbsoluteFormBecomesOriginFormWithTheTargetsHost) {
    request_parser parser;
    const auto r = parse(parser,
                         "POST http://api.example:8080/users?id=1 HTTP/1.1\r\n"
                         "X-First: 1\r\nHost: other\r\nContent-Length: 0\r\n\r\n");
    EXPECT_FALSE(r.error);
    ASSERT_FALSE(r.verdict);
    EXPECT_EQ(parser.get().target(), "/users?id=1");
    EXPECT_EQ(parser.get()[http::field::host], "api.example:8080");
    ASSERT_EQ(parser.arrival_order().size(), 3u);
    EXPECT_EQ(parser.arrival_order()[1]->name_string(), "Host");
    EXPECT_EQ(parser.arrival_order()[1]->value(), "api.example:8080");
    EXPECT_EQ(std::distance(parser.get().begin(), parser.get().end()), 3);
}

TEST(RequestRules, AbsoluteFormEdges) {
    struct row {
        const char* target;
        const char* origin;  // nullptr: refused
    };
    for (const auto& [target, origin] :
         {row{"http://h", "/"}, row{"HTTPS://h?q=1", "/?q=1"}, row{"http://h/a/b", "/a/b"},
          row{"http://user@h/", nullptr}, row{"http:///x", nullptr}, row{"ftp://h/x", nullptr},
          row{"h/x", nullptr}, row{"/a#frag", nullptr}}) {
        request_parser parser;
        const auto r = parse(parser, std::string("GET ") + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
        if (origin == nullptr) {
            EXPECT_TRUE(r.error || r.verdict == bad_target) << target;
        } else {
            EXPECT_FALSE(r.verdict) << target;
            EXPECT_EQ(parser.get().target(), origin) << target;
        }
    }
}

TEST(RequestRules, AsteriskOnlyForOptionsAndConnectIsNotServed) {
    request_parser options;
    EXPECT_FALSE(parse(options, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").verdict);
    request_parser get;
    EXPECT_EQ(parse(get, "GET * HTTP/1.1\r\nHost: h\r\n\r\n").verdict, bad_target);
    request_parser connect;
    const auto r = parse(connect, "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
    ASSERT_TRUE(r.verdict);
    EXPECT_EQ(r.verdict->status, http::status::method_not_allowed);
}

TEST(RequestParser, TrailersAreNeverMergedIntoTheHeader) {
    request_parser parser;
    const auto r = parse(parser,
                         "POST /a HTTP/1.1\r\nHost: good\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "1\r\nx\r\n0\r\nHost: evil.example\r\nX-Trailer: 1\r\n\r\n");
    EXPECT_FALSE(r.error);
    EXPECT_TRUE(parser.is_done());
    EXPECT_EQ(parser.trailer_fields(), 2u);
    EXPECT_EQ(parser.get().count(http::field::host), 1u);
    EXPECT_EQ(parser.get()[http::field::host], "good");
    EXPECT_EQ(parser.get().count("X-Trailer"), 0u);
    EXPECT_EQ(parser.arrival_order().size(), 2u);
}

TEST(RequestParser, TrailersAndChunkExtensionsShareTheHeaderLimit) {
    const std::string head = "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    request_parser trailer;
    auto r = parse(trailer, head + "0\r\nX-Big: " + std::string(3000, 'a') + "\r\n\r\n", 2048);
    EXPECT_EQ(r.error, http::error::header_limit);
    EXPECT_EQ(rejection_for(r.error)->status, http::status::request_header_fields_too_large);

    request_parser extensions;
    std::string chunks;
    for (int i = 0; i < 40; ++i) {
        chunks += "1;ext=" + std::string(60, 'e') + "\r\nx\r\n";  // 66 bytes each, 2640 in all
    }
    r = parse(extensions, head + chunks + "0\r\n\r\n", 2048);
    EXPECT_EQ(r.error, http::error::header_limit);
}

TEST(RequestParser, AFieldTooLargeForBeastIsAnErrorNotAnException) {
    // Beast's fields container throws std::length_error beyond 64 KiB; a header limit above it
    // must still end in an error code.
    request_parser parser;
    const auto r =
        parse(parser, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n",
              1024 * 1024);
    EXPECT_EQ(r.error, http::error::header_limit);
}

TEST(RequestRules, ReadErrorsMapToAnswersOrSilence) {
    EXPECT_EQ(rejection_for(http::error::body_limit)->status, http::status::payload_too_large);
    EXPECT_EQ(rejection_for(http::error::buffer_overflow)->status,
              http::status::request_header_fields_too_large);
    EXPECT_EQ(rejection_for(http::error::bad_method)->status, http::status::bad_request);
    EXPECT_FALSE(rejection_for(http::error::end_of_stream));
    EXPECT_FALSE(rejection_for(http::error::partial_message));
    EXPECT_FALSE(rejection_for(boost::asio::error::connection_reset));
    EXPECT_EQ(rejection_body({http::status::bad_request, "bad_host"}), R"({"error":"bad_host"})");
}

}  // namespace
}  // namespace spillway::http_util
