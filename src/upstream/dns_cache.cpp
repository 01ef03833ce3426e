#include "spillway/upstream/dns_cache.hpp"

#include <boost/asio/ip/address.hpp>

#include <string>

namespace spillway::upstream {

namespace net = boost::asio;

dns_cache::dns_cache(const config::host_port& address, std::chrono::steady_clock::duration ttl)
    : address_(address), ttl_(ttl) {}

bool dns_cache::needs_lookup(std::chrono::steady_clock::time_point now) const {
    return endpoints_.empty() || (!literal_ && now - resolved_at_ >= ttl_);
}

netx::task<boost::system::error_code> dns_cache::resolve(netx::executor ex) {
    const auto now = std::chrono::steady_clock::now();
    if (!needs_lookup(now)) {
        co_return boost::system::error_code{};
    }
    boost::system::error_code ec;
    const auto address = net::ip::make_address(address_.host, ec);
    if (!ec) {
        endpoints_ = {net::ip::tcp::endpoint(address, address_.port)};
        literal_ = true;
        co_return ec;
    }
    net::ip::basic_resolver<net::ip::tcp, netx::executor> resolver(ex);
    auto [lookup_error, results] = co_await resolver.async_resolve(
        address_.host, std::to_string(address_.port), netx::use_task);
    if (lookup_error) {
        co_return lookup_error;
    }
    endpoints_.clear();
    for (const auto& r : results) {
        endpoints_.push_back(r.endpoint());
    }
    resolved_at_ = now;
    co_return boost::system::error_code{};
}

}  // namespace spillway::upstream
