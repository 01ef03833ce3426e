#pragma once
// Whom a request is rate limited as. The socket's peer address, unless the peer is one of
// `rate_limit.trusted_proxies`: then X-Forwarded-For is walked from the right (the entry the
// nearest proxy appended) past every trusted address, and the first untrusted one is the client.
// Entries left of it were written by the client itself and could be anything, so they are never
// looked at. A malformed entry met on the walk means the chain cannot be followed: the peer is
// used, which is safe (no client can pick its own key that way).

#include "spillway/net/ip_prefix.hpp"
#include "spillway/proxy/message_heads.hpp"

#include <span>
#include <string_view>

namespace spillway::proxy {

// `forwarded_for`: the values of every X-Forwarded-For field, in the order received (a list
// split over several fields is one list).
netx::ip_address rate_limit_client(const netx::ip_address& peer,
                                   std::span<const std::string_view> forwarded_for,
                                   std::span<const netx::ip_prefix> trusted);

// The same for a parsed request.
netx::ip_address rate_limit_client(const netx::ip_address& peer, const client_request& req,
                                   std::span<const netx::ip_prefix> trusted);

// One X-Forwarded-For entry: "192.0.2.1", "2001:db8::1", and the forms some proxies write with a
// port ("192.0.2.1:4711", "[2001:db8::1]", "[2001:db8::1]:4711"). Nullopt for anything else
// ("unknown", obfuscated identifiers, garbage).
std::optional<netx::ip_address> parse_forwarded_entry(std::string_view entry);

}  // namespace spillway::proxy
