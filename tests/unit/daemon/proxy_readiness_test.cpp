#include "spillway/daemon/proxy_readiness.hpp"

#include <gtest/gtest.h>

namespace spillway::daemon {
namespace {

TEST(ProxyReadiness, ReadyWhenKafkaIsUpAndTheSpoolCanTakeRecords) {
    EXPECT_EQ(proxy_readiness({true, true, 10, 100}), std::nullopt);
}

TEST(ProxyReadiness, KafkaUnreachableIsNotReadyEvenWithASpool) {
    EXPECT_EQ(proxy_readiness({false, true, 0, 100}),
              "kafka unreachable (captures go to the spool)");
}

TEST(ProxyReadiness, AFailedSpoolCommitIsNotReady) {
    EXPECT_EQ(proxy_readiness({true, false, 0, 100}),
              "spool not writable (its last commit failed)");
}

TEST(ProxyReadiness, AFullSpoolIsNotReadyAndSaysHowFull) {
    EXPECT_EQ(proxy_readiness({true, true, 100, 100}), "spool full (100 of 100 bytes)");
}

TEST(ProxyReadiness, EveryReasonIsGiven) {
    EXPECT_EQ(proxy_readiness({false, false, 200, 100}),
              "kafka unreachable (captures go to the spool); spool not writable (its last commit "
              "failed); spool full (200 of 100 bytes)");
}

}  // namespace
}  // namespace spillway::daemon
