#pragma once
// The addresses of one backend name, looked up again once they are older than a TTL, so a
// backend that moves (DNS) is followed without a lookup per connect. An IP address is parsed
// once and never looked up.

#include "spillway/config/config.hpp"
#include "spillway/net/timed_socket.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <vector>

namespace spillway::upstream {

class dns_cache {
public:
    static constexpr std::chrono::seconds default_ttl{10};

    // `address` must outlive the cache.
    explicit dns_cache(const config::host_port& address,
                       std::chrono::steady_clock::duration ttl = default_ttl);

    // Makes endpoints() current: looks the name up (on `ex`) only when needs_lookup(now).
    // A failed lookup returns its error and leaves the previous addresses as they were.
    netx::task<boost::system::error_code> resolve(netx::executor ex);

    // Whether resolve() at `now` would look the name up.
    bool needs_lookup(std::chrono::steady_clock::time_point now) const;

    const std::vector<boost::asio::ip::tcp::endpoint>& endpoints() const { return endpoints_; }

private:
    const config::host_port& address_;
    std::chrono::steady_clock::duration ttl_;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
    std::chrono::steady_clock::time_point resolved_at_;
    bool literal_ = false;  // an IP address: never looked up
};

}  // namespace spillway::upstream
