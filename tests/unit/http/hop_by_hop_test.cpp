// Hop-by-hop headers (RFC 9110 §7.6.1): the fixed set and the names listed in Connection.

#include "spillway/http/hop_by_hop.hpp"

#include <gtest/gtest.h>

#include <string>

namespace spillway::http_util {
namespace {

TEST(HopByHop, FixedSetInAnyCase) {
    for (const char* name :
         {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding",
          "Upgrade", "connection", "KEEP-ALIVE", "te", "transfer-encoding", "uPgRaDe"}) {
        EXPECT_TRUE(is_hop_by_hop(name)) << name;
    }
}

TEST(HopByHop, EndToEndHeadersAreNot) {
    for (const char* name : {"Host", "Content-Length", "Content-Type", "X-Request-Id", "Trailers",
                             "Connections", "T", "", "Keep-Alive2", "Upgrade-Insecure-Requests"}) {
        EXPECT_FALSE(is_hop_by_hop(name)) << name;
    }
}

TEST(HopByHop, IequalsComparesAsciiCaseInsensitively) {
    EXPECT_TRUE(iequals("X-Forwarded-For", "x-forwarded-for"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("abc", "abd"));
    EXPECT_FALSE(iequals("abc", "abcd"));
    EXPECT_FALSE(iequals("[", "{"));  // only letters fold: '[' + 32 is '{'
}

TEST(ConnectionFilter, DropsTheNamedHeadersAndTheFixedSet) {
    connection_filter filter;
    const std::string value = "keep-alive, X-Secret ,  x-other\t";
    filter.add_connection_value(value);
    EXPECT_TRUE(filter.drops("X-Secret"));
    EXPECT_TRUE(filter.drops("x-secret"));
    EXPECT_TRUE(filter.drops("X-Other"));
    EXPECT_TRUE(filter.drops("Keep-Alive"));
    EXPECT_TRUE(filter.drops("Upgrade"));  // fixed set, not named
    EXPECT_FALSE(filter.drops("X-Secret-Not"));
    EXPECT_FALSE(filter.drops("Content-Type"));
    EXPECT_TRUE(filter.has_token("KEEP-ALIVE"));
    EXPECT_FALSE(filter.has_token("close"));
}

TEST(ConnectionFilter, SeveralConnectionHeadersAccumulate) {
    connection_filter filter;
    const std::string first = "close";
    const std::string second = "X-A,X-B";
    filter.add_connection_value(first);
    filter.add_connection_value(second);
    EXPECT_TRUE(filter.has_token("close"));
    EXPECT_TRUE(filter.drops("X-A"));
    EXPECT_TRUE(filter.drops("X-B"));
}

TEST(ConnectionFilter, EmptyTokensAreIgnored) {
    connection_filter filter;
    const std::string value = " , ,,X-Only, ";
    filter.add_connection_value(value);
    EXPECT_TRUE(filter.drops("X-Only"));
    EXPECT_FALSE(filter.drops(""));
    EXPECT_FALSE(filter.has_token(""));
    EXPECT_FALSE(filter.drops("Host"));
}

TEST(ConnectionFilter, EmptyFilterDropsOnlyTheFixedSet) {
    connection_filter filter;
    EXPECT_TRUE(filter.drops("TE"));
    EXPECT_FALSE(filter.drops("X-Anything"));
}

}  // namespace
}  // namespace spillway::http_util
