#pragma once
// IP addresses in one binary form and CIDR prefixes over them, for the rate limiter's client key
// and its trusted proxies. An IPv4 address is held as its IPv4-mapped IPv6 form (::ffff:a.b.c.d),
// so a dual-stack listener's "::ffff:10.0.0.1" and a configured "10.0.0.0/8" compare as one
// family. Parsing never throws and allocates nothing.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::netx {

struct ip_address {
    std::array<std::uint8_t, 16> bytes{};

    bool is_v4() const;
    std::string to_string() const;  // dotted quad for IPv4, RFC 5952 text for IPv6

    friend bool operator==(const ip_address&, const ip_address&) = default;
};

// "192.0.2.1" or "2001:db8::1" (no brackets, no port, no zone); nullopt for anything else.
std::optional<ip_address> parse_ip_address(std::string_view text);

struct ip_prefix {
    ip_address base;  // the low bits past `length` are zero
    std::uint8_t length = 0;  // over the 128-bit form: an IPv4 /n is 96 + n

    bool contains(const ip_address& a) const;
};

// "10.0.0.0/8", "2001:db8::/32", or a single address ("192.0.2.1" = /32, "::1" = /128). Bits set
// past the length are cleared ("10.1.2.3/8" is 10.0.0.0/8). Nullopt for anything else.
std::optional<ip_prefix> parse_ip_prefix(std::string_view text);

}  // namespace spillway::netx
