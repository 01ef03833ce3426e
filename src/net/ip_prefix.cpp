#include "spillway/net/ip_prefix.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace spillway::netx {

namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

bool ip_address::is_v4() const {
    return std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), bytes.begin());
}

std::string ip_address::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (is_v4()) {
        ::inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
    } else {
        ::inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
    }
    return text;
}

std::optional<ip_address> parse_ip_address(std::string_view text) {
    char buf[INET6_ADDRSTRLEN];
    if (text.empty() || text.size() >= sizeof buf) {
        return std::nullopt;
    }
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    ip_address a;
    if (text.find(':') == std::string_view::npos) {
        // inet_pton(AF_INET) takes only the strict dotted quad (no "1.2.3", no octal).
        if (::inet_pton(AF_INET, buf, a.bytes.data() + 12) != 1) {
            return std::nullopt;
        }
        std::copy(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), a.bytes.begin());
        return a;
    }
    if (::inet_pton(AF_INET6, buf, a.bytes.data()) != 1) {
        return std::nullopt;
    }
    return a;
}

bool ip_prefix::contains(const ip_address& a) const {
    const std::size_t whole = length / 8;
    if (!std::equal(base.bytes.begin(), base.bytes.begin() + whole, a.bytes.begin())) {
        return false;
    }
    const unsigned rest = length % 8;
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a.bytes[whole] & mask) == base.bytes[whole];
}

std::optional<ip_prefix> parse_ip_prefix(std::string_view text) {
    const auto slash = text.find('/');
    auto address = parse_ip_address(text.substr(0, slash));
    if (!address) {
        return std::nullopt;
    }
    // The length counts in the family the text was written in ("::ffff:10.0.0.0/104" is IPv6).
    const bool written_v4 = text.substr(0, slash).find(':') == std::string_view::npos;
    const unsigned max_length = written_v4 ? 32 : 128;
    unsigned length = max_length;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        const char* end = digits.data() + digits.size();
        auto [ptr, ec] = std::from_chars(digits.data(), end, length);
        if (digits.empty() || digits.size() > 3 || ec != std::errc() || ptr != end ||
            length > max_length) {
            return std::nullopt;
        }
    }
    ip_prefix p;
    p.length = static_cast<std::uint8_t>(written_v4 ? 96 + length : length);
    p.base = *address;
    for (unsigned bit = p.length; bit < 128; ++bit) {
        p.base.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    }
    return p;
}

}  // namespace spillway::netx
