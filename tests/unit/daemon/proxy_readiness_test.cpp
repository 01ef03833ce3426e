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

storage_state healthy(std::uint64_t max_bytes) {
    storage_state s;
    s.kafka_connected = true;
    s.spool_max_bytes = max_bytes;
    return s;
}

TEST(ProxyReadiness, QuarantinedBytesCountAndAreNamed) {
    auto s = healthy(1000);
    s.spool_bytes = 100;
    s.spool_quarantined_bytes = 850;  // only the operator can free these
    EXPECT_EQ(proxy_readiness(s),
              "spool nearly full (950 of 1000 bytes, 850 of them quarantined: see the README, "
              "\"The spool\")");
    s.spool_quarantined_bytes = 900;
    EXPECT_EQ(proxy_readiness(s),
              "spool full (1000 of 1000 bytes, 900 of them quarantined: see the README, "
              "\"The spool\")");
}

TEST(ProxyReadiness, BelowNinetyPercentIsReady) {
    auto s = healthy(1000);
    s.spool_bytes = 500;
    s.spool_quarantined_bytes = 399;
    s.spool_disk_bytes = 899;
    EXPECT_EQ(proxy_readiness(s), std::nullopt);
}

TEST(ProxyReadiness, TheFilesOnDiskCountWhenLarger) {
    auto s = healthy(1000);
    s.spool_bytes = 10;
    s.spool_disk_bytes = 950;  // the log and free pages not yet given back
    EXPECT_EQ(proxy_readiness(s), "spool nearly full (950 of 1000 bytes)");
}

TEST(ProxyReadiness, DeliveredRecordsTheSpoolCannotDeleteAreNotReady) {
    auto s = healthy(1000);
    s.spool_undeleted = 3;
    EXPECT_EQ(proxy_readiness(s),
              "spool cannot delete 3 delivered records (retrying; a restart would send them "
              "again)");
}

TEST(ProxyReadiness, AFatalProducerErrorIsNotReadyWhateverTheConnection) {
    auto s = healthy(1000);
    s.kafka_fatal = "OUT_OF_ORDER_SEQUENCE_NUMBER: test";
    EXPECT_EQ(proxy_readiness(s),
              "kafka producer failed for good (OUT_OF_ORDER_SEQUENCE_NUMBER: test); the proxy is "
              "restarting, captures go to the spool");
}

}  // namespace
}  // namespace spillway::daemon
