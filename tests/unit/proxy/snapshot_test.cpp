// What a reload keeps (snapshot.hpp): an endpoint that stays keeps its circuit unless the
// breaker's settings changed; the rate limiter keeps its buckets unless rate_limit.* changed.

#include "spillway/proxy/snapshot.hpp"

#include <gtest/gtest.h>

namespace spillway::proxy {
namespace {

config::config with_endpoints(std::vector<std::uint16_t> ports) {
    config::config cfg;
    cfg.threads = 1;
    cfg.backend.endpoints.clear();
    for (auto port : ports) {
        cfg.backend.endpoints.push_back({"127.0.0.1", port});
    }
    cfg.circuit_breaker = {true, 1, std::chrono::milliseconds(60000)};
    return cfg;
}

std::shared_ptr<const config::config> shared(config::config cfg) {
    return std::make_shared<const config::config>(std::move(cfg));
}

void open_circuit(backend_endpoint& e) {
    const auto ticket = e.admit();
    e.report(ticket, verdict::failure, "test");
    ASSERT_EQ(e.state(), circuit_state::open);
}

TEST(SnapshotTest, AnEndpointThatStaysKeepsItsCircuit) {
    const auto first = make_snapshot(with_endpoints({1001, 1002}));
    open_circuit(*first->endpoints[0]);

    const auto second = make_snapshot(shared(with_endpoints({1001, 1003})), first.get());
    ASSERT_EQ(second->endpoints.size(), 2u);
    EXPECT_EQ(second->endpoints[0], first->endpoints[0]);  // the same object
    EXPECT_EQ(second->endpoints[0]->state(), circuit_state::open);
    EXPECT_EQ(second->endpoints[1]->name(), "127.0.0.1:1003");
    EXPECT_EQ(second->endpoints[1]->state(), circuit_state::closed);
    EXPECT_EQ(second->generation, first->generation + 1);
}

TEST(SnapshotTest, ChangedBreakerSettingsStartTheCircuitClosedAndKeepItsCounters) {
    const auto first = make_snapshot(with_endpoints({1001}));
    open_circuit(*first->endpoints[0]);
    auto cfg = with_endpoints({1001});
    cfg.circuit_breaker.failure_threshold = 3;
    const auto second = make_snapshot(shared(cfg), first.get());
    EXPECT_EQ(second->endpoints[0]->state(), circuit_state::closed);
    EXPECT_EQ(second->endpoints[0]->transitions_to(circuit_state::open), 1u);
    // The new threshold holds: two failures leave it closed, the third opens it.
    for (int i = 0; i < 2; ++i) {
        second->endpoints[0]->report(second->endpoints[0]->admit(), verdict::failure, "test");
    }
    EXPECT_EQ(second->endpoints[0]->state(), circuit_state::closed);
    second->endpoints[0]->report(second->endpoints[0]->admit(), verdict::failure, "test");
    EXPECT_EQ(second->endpoints[0]->state(), circuit_state::open);
}

TEST(SnapshotTest, TheRateLimiterIsKeptUnlessItsSettingsChange) {
    auto cfg = with_endpoints({1001});
    cfg.rate_limit.requests_per_second = 5;
    const auto first = make_snapshot(cfg);
    ASSERT_NE(first->rate_limit, nullptr);
    cfg.capture.retry_after_s = 9;
    const auto second = make_snapshot(shared(cfg), first.get());
    EXPECT_EQ(second->rate_limit, first->rate_limit);
    cfg.rate_limit.requests_per_second = 6;
    const auto third = make_snapshot(shared(cfg), second.get());
    EXPECT_NE(third->rate_limit, second->rate_limit);
    cfg.rate_limit.requests_per_second = 0;
    const auto fourth = make_snapshot(shared(cfg), third.get());
    EXPECT_EQ(fourth->rate_limit, nullptr);
}

}  // namespace
}  // namespace spillway::proxy
