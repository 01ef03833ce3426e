// Addresses in one 16-byte form and CIDR prefixes over them (the rate limiter's trusted proxies).

#include "spillway/net/ip_prefix.hpp"

#include <gtest/gtest.h>

namespace spillway::netx {
namespace {

ip_address addr(std::string_view text) {
    auto a = parse_ip_address(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(ip_address{});
}

bool in(std::string_view prefix, std::string_view address) {
    auto p = parse_ip_prefix(prefix);
    EXPECT_TRUE(p.has_value()) << prefix;
    return p && p->contains(addr(address));
}

TEST(IpAddress, ParsesBothFamiliesIntoOneForm) {
    EXPECT_TRUE(addr("192.0.2.1").is_v4());
    EXPECT_EQ(addr("192.0.2.1"), addr("::ffff:192.0.2.1"));  // dual-stack peers compare equal
    EXPECT_FALSE(addr("2001:db8::1").is_v4());
    EXPECT_EQ(addr("192.0.2.1").to_string(), "192.0.2.1");
    EXPECT_EQ(addr("2001:DB8:0:0::1").to_string(), "2001:db8::1");
    EXPECT_NE(addr("127.0.0.1"), addr("127.0.0.2"));
}

TEST(IpAddress, RejectsWhatIsNotAnAddress) {
    for (std::string_view bad :
         {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "[::1]", "::1%eth0",
          "unknown", "1.2.3.4:80", "fe80::1::2", "10.0.0.0/8"}) {
        EXPECT_FALSE(parse_ip_address(bad).has_value()) << bad;
    }
}

TEST(IpPrefix, MatchesIpv4Prefixes) {
    EXPECT_TRUE(in("10.0.0.0/8", "10.255.1.2"));
    EXPECT_FALSE(in("10.0.0.0/8", "11.0.0.1"));
    EXPECT_TRUE(in("192.168.1.64/26", "192.168.1.127"));
    EXPECT_FALSE(in("192.168.1.64/26", "192.168.1.128"));
    EXPECT_TRUE(in("192.168.1.64/26", "::ffff:192.168.1.65"));
    EXPECT_TRUE(in("0.0.0.0/0", "203.0.113.9"));
    EXPECT_FALSE(in("0.0.0.0/0", "2001:db8::1"));  // all of IPv4, not IPv6
    EXPECT_TRUE(in("127.0.0.1", "127.0.0.1"));  // a bare address is a /32
    EXPECT_FALSE(in("127.0.0.1", "127.0.0.2"));
}

TEST(IpPrefix, MatchesIpv6Prefixes) {
    EXPECT_TRUE(in("2001:db8::/32", "2001:db8:ffff::1"));
    EXPECT_FALSE(in("2001:db8::/32", "2001:db9::1"));
    EXPECT_TRUE(in("2001:db8::/33", "2001:db8:7fff::1"));
    EXPECT_FALSE(in("2001:db8::/33", "2001:db8:8000::1"));
    EXPECT_TRUE(in("::1", "::1"));
    EXPECT_FALSE(in("::1", "::2"));
    EXPECT_TRUE(in("::/0", "10.0.0.1"));  // everything, mapped IPv4 included
    EXPECT_TRUE(in("::ffff:10.0.0.0/104", "10.9.9.9"));
}

TEST(IpPrefix, HostBitsPastTheLengthAreCleared) {
    auto p = parse_ip_prefix("10.1.2.3/8");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->base, addr("10.0.0.0"));
    EXPECT_EQ(p->length, 96 + 8);
    EXPECT_TRUE(p->contains(addr("10.200.0.1")));
}

TEST(IpPrefix, RejectsBadPrefixes) {
    for (std::string_view bad :
         {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "2001:db8::/129",
          "10.0.0.0/ 8", "10.0.0.0/0008", "x/8", "/8", "10.0.0.0/8 "}) {
        EXPECT_FALSE(parse_ip_prefix(bad).has_value()) << bad;
    }
}

}  // namespace
}  // namespace spillway::netx
