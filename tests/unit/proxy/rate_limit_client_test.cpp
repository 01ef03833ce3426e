// Whom a request is rate limited as: the peer, or (from a trusted proxy) the first untrusted
// address of X-Forwarded-For walked from the right.

#include "spillway/proxy/rate_limit_client.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace spillway::proxy {
namespace {

netx::ip_address addr(std::string_view text) {
    return netx::parse_ip_address(text).value();
}

std::vector<netx::ip_prefix> prefixes(std::initializer_list<std::string_view> texts) {
    std::vector<netx::ip_prefix> out;
    for (auto t : texts) {
        out.push_back(netx::parse_ip_prefix(t).value());
    }
    return out;
}

std::string client_of(std::string_view peer, std::vector<std::string_view> xff,
                      const std::vector<netx::ip_prefix>& trusted) {
    return rate_limit_client(addr(peer), xff, trusted).to_string();
}

const auto trusted = prefixes({"10.0.0.0/8", "2001:db8:1::/48"});

TEST(RateLimitClient, AnUntrustedPeerIsTheClientWhateverItForwards) {
    EXPECT_EQ(client_of("203.0.113.7", {"198.51.100.1"}, trusted), "203.0.113.7");
    EXPECT_EQ(client_of("203.0.113.7", {"198.51.100.1"}, {}), "203.0.113.7");
}

TEST(RateLimitClient, ATrustedPeerNamesTheClient) {
    EXPECT_EQ(client_of("10.0.0.2", {"198.51.100.1"}, trusted), "198.51.100.1");
}

TEST(RateLimitClient, TheWalkSkipsTrustedHopsFromTheRight) {
    // client 198.51.100.1 -> proxy 10.1.1.1 -> proxy 10.0.0.2 -> us
    EXPECT_EQ(client_of("10.0.0.2", {"198.51.100.1, 10.1.1.1"}, trusted), "198.51.100.1");
    // The client put a fake entry of its own in front: it is never reached.
    EXPECT_EQ(client_of("10.0.0.2", {"1.1.1.1, 198.51.100.1, 10.1.1.1"}, trusted), "198.51.100.1");
    // One list split over several fields.
    EXPECT_EQ(client_of("10.0.0.2", {"1.1.1.1, 198.51.100.1", "10.1.1.1"}, trusted),
              "198.51.100.1");
    EXPECT_EQ(client_of("2001:db8:1::5", {"2001:db8:2::9, 2001:db8:1::7"}, trusted),
              "2001:db8:2::9");
}

TEST(RateLimitClient, NoForwardedForMeansThePeer) {
    EXPECT_EQ(client_of("10.0.0.2", {}, trusted), "10.0.0.2");
    EXPECT_EQ(client_of("10.0.0.2", {" , "}, trusted), "10.0.0.2");  // empty elements ignored
}

TEST(RateLimitClient, AllTrustedMeansTheLeftmost) {
    EXPECT_EQ(client_of("10.0.0.2", {"10.9.9.9, 10.1.1.1"}, trusted), "10.9.9.9");
}

TEST(RateLimitClient, AMalformedEntryOnTheWalkMeansThePeer) {
    EXPECT_EQ(client_of("10.0.0.2", {"198.51.100.1, garbage"}, trusted), "10.0.0.2");
    EXPECT_EQ(client_of("10.0.0.2", {"unknown"}, trusted), "10.0.0.2");
    EXPECT_EQ(client_of("10.0.0.2", {"198.51.100.1, 10.1.1.1:"}, trusted), "10.0.0.2");
    // Past the first untrusted address nothing is looked at, malformed or not.
    EXPECT_EQ(client_of("10.0.0.2", {"garbage, 198.51.100.1"}, trusted), "198.51.100.1");
}

TEST(RateLimitClient, EntriesWithPortsAndBrackets) {
    EXPECT_EQ(parse_forwarded_entry("198.51.100.1:4711")->to_string(), "198.51.100.1");
    EXPECT_EQ(parse_forwarded_entry("[2001:db8::1]")->to_string(), "2001:db8::1");
    EXPECT_EQ(parse_forwarded_entry("[2001:db8::1]:4711")->to_string(), "2001:db8::1");
    EXPECT_EQ(parse_forwarded_entry("2001:db8::1")->to_string(), "2001:db8::1");
    for (std::string_view bad : {"[2001:db8::1", "[2001:db8::1]x", "[2001:db8::1]:", "1.2.3.4:x",
                                 "1.2.3.4:", "_hidden", "unknown", "1.2.3.4 5"}) {
        EXPECT_FALSE(parse_forwarded_entry(bad).has_value()) << bad;
    }
}

TEST(RateLimitClient, ReadsEveryForwardedForFieldOfARequest) {
    client_request req{http::verb::get, "/", 11};
    req.insert("X-Forwarded-For", "1.1.1.1, 198.51.100.1");
    req.insert("Accept", "*/*");
    req.insert("x-forwarded-for", "10.1.1.1");
    EXPECT_EQ(rate_limit_client(addr("10.0.0.2"), req, trusted).to_string(), "198.51.100.1");
    EXPECT_EQ(rate_limit_client(addr("203.0.113.7"), req, trusted).to_string(), "203.0.113.7");
}

}  // namespace
}  // namespace spillway::proxy
