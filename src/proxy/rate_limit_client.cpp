#include "spillway/proxy/rate_limit_client.hpp"

#include "spillway/http/hop_by_hop.hpp"

#include <boost/container/small_vector.hpp>

#include <algorithm>

namespace spillway::proxy {

namespace {

bool trusted_address(const netx::ip_address& a, std::span<const netx::ip_prefix> trusted) {
    return std::any_of(trusted.begin(), trusted.end(),
                       [&](const netx::ip_prefix& p) { return p.contains(a); });
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

enum class walk { found, keep_going, malformed };

// Looks at one list, right to left; `client` is the last address seen.
walk walk_list(std::string_view list, std::span<const netx::ip_prefix> trusted,
               netx::ip_address& client) {
    while (true) {
        const auto comma = list.rfind(',');
        const auto entry =
            http_util::trim_ows(comma == std::string_view::npos ? list : list.substr(comma + 1));
        if (!entry.empty()) {  // empty list elements are allowed and ignored (RFC 9110 §5.6.1)
            auto address = parse_forwarded_entry(entry);
            if (!address) {
                return walk::malformed;
            }
            client = *address;
            if (!trusted_address(client, trusted)) {
                return walk::found;
            }
        }
        if (comma == std::string_view::npos) {
            return walk::keep_going;
        }
        list = list.substr(0, comma);
    }
}

}  // namespace

std::optional<netx::ip_address> parse_forwarded_entry(std::string_view entry) {
    if (!entry.empty() && entry.front() == '[') {
        const auto close = entry.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        const auto after = entry.substr(close + 1);
        if (!after.empty() && (after.front() != ':' || after.size() == 1 ||
                               !std::all_of(after.begin() + 1, after.end(), is_digit))) {
            return std::nullopt;
        }
        return netx::parse_ip_address(entry.substr(1, close - 1));
    }
    const auto colon = entry.find(':');
    if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
        // One colon: an IPv4 address with a port (an IPv6 address has at least two).
        const auto port = entry.substr(colon + 1);
        if (port.empty() || !std::all_of(port.begin(), port.end(), is_digit)) {
            return std::nullopt;
        }
        entry = entry.substr(0, colon);
    }
    return netx::parse_ip_address(entry);
}

netx::ip_address rate_limit_client(const netx::ip_address& peer,
                                   std::span<const std::string_view> forwarded_for,
                                   std::span<const netx::ip_prefix> trusted) {
    if (!trusted_address(peer, trusted)) {
        return peer;
    }
    netx::ip_address client = peer;
    for (auto it = forwarded_for.rbegin(); it != forwarded_for.rend(); ++it) {
        switch (walk_list(*it, trusted, client)) {
            case walk::found:
                return client;
            case walk::malformed:
                return peer;
            case walk::keep_going:
                break;
        }
    }
    // Every hop was trusted: the leftmost one is as far as the chain goes (nginx does the same).
    return client;
}

netx::ip_address rate_limit_client(const netx::ip_address& peer, const client_request& req,
                                   std::span<const netx::ip_prefix> trusted) {
    if (trusted.empty()) {
        return peer;
    }
    boost::container::small_vector<std::string_view, 4> lists;
    for (const auto& f : req) {
        if (f.name() == http::field::unknown &&
            http_util::iequals(f.name_string(), "x-forwarded-for")) {
            lists.push_back(f.value());
        }
    }
    return rate_limit_client(peer, std::span<const std::string_view>(lists.data(), lists.size()),
                             trusted);
}

}  // namespace spillway::proxy
