// The DNS cache: a name is looked up once per TTL, an IP address never.

#include "spillway/upstream/dns_cache.hpp"

#include "unit/upstream/loopback_backend.hpp"

#include <gtest/gtest.h>

namespace spillway::upstream {
namespace {

namespace net = boost::asio;

using namespace std::chrono_literals;

TEST(DnsCache, ResolvesANameOnceWithinTheTtl) {
    net::io_context ioc;
    const config::host_port address{"localhost", 8080};
    dns_cache cache(address, 10s);
    EXPECT_TRUE(cache.needs_lookup(std::chrono::steady_clock::now()));

    const auto first = test::run_task(ioc, cache.resolve(ioc.get_executor()));
    ASSERT_TRUE(first.has_value());
    ASSERT_FALSE(*first) << first->message();
    ASSERT_FALSE(cache.endpoints().empty());
    const auto endpoints = cache.endpoints();
    for (const auto& e : endpoints) {
        EXPECT_TRUE(e.address().is_loopback()) << e;
        EXPECT_EQ(e.port(), 8080);
    }

    const auto now = std::chrono::steady_clock::now();
    EXPECT_FALSE(cache.needs_lookup(now));  // so the next resolve() does not look it up
    EXPECT_FALSE(cache.needs_lookup(now + 9s));
    EXPECT_TRUE(cache.needs_lookup(now + 11s));
    const auto second = test::run_task(ioc, cache.resolve(ioc.get_executor()));
    ASSERT_TRUE(second.has_value());
    EXPECT_FALSE(*second);
    EXPECT_EQ(cache.endpoints(), endpoints);
}

TEST(DnsCache, LooksTheNameUpAgainOnceTheTtlHasPassed) {
    net::io_context ioc;
    const config::host_port address{"localhost", 8080};
    dns_cache cache(address, 0s);

    ASSERT_FALSE(test::run_task(ioc, cache.resolve(ioc.get_executor())).value());

    EXPECT_TRUE(cache.needs_lookup(std::chrono::steady_clock::now()));
    EXPECT_FALSE(test::run_task(ioc, cache.resolve(ioc.get_executor())).value());
    EXPECT_FALSE(cache.endpoints().empty());
}

TEST(DnsCache, NeverLooksUpAnIpAddress) {
    net::io_context ioc;
    const config::host_port address{"::1", 9000};
    dns_cache cache(address, 0s);

    ASSERT_FALSE(test::run_task(ioc, cache.resolve(ioc.get_executor())).value());

    ASSERT_EQ(cache.endpoints().size(), 1u);
    EXPECT_EQ(cache.endpoints().front(),
              net::ip::tcp::endpoint(net::ip::make_address("::1"), 9000));
    EXPECT_FALSE(cache.needs_lookup(std::chrono::steady_clock::now() + 24h));
}

TEST(DnsCache, FailedLookupReturnsItsError) {
    net::io_context ioc;
    const config::host_port address{"no-such-host.invalid", 80};
    dns_cache cache(address);

    const auto error = test::run_task(ioc, cache.resolve(ioc.get_executor()));

    ASSERT_TRUE(error.has_value());
    EXPECT_TRUE(*error);
    EXPECT_TRUE(cache.endpoints().empty());
    EXPECT_TRUE(cache.needs_lookup(std::chrono::steady_clock::now()));
}

}  // namespace
}  // namespace spillway::upstream
