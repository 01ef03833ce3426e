// The reload plan (config_diff.hpp): which changed keys take effect, which need a restart and
// keep their running value, and which a binary does not read.

#include "spillway/config/config_diff.hpp"

#include <gtest/gtest.h>

namespace spillway::config {
namespace {

using keys = std::vector<std::string>;

config parsed(const std::string& json) {
    return parse(json, [](const char*) -> std::optional<std::string> { return std::nullopt; });
}

TEST(ConfigDiffTest, NothingChangedPlansNothing) {
    const auto running = parsed(R"({"backend": {"url": "http://127.0.0.1:3000"}})");
    const auto plan = plan_reload(running, running, proxy_key_class);
    EXPECT_TRUE(plan.applied.empty());
    EXPECT_TRUE(plan.ignored.empty());
    EXPECT_FALSE(plan.changes_anything());
}

TEST(ConfigDiffTest, LiveKeysOfTheProxyTakeTheLoadedValue) {
    const auto running = parsed(R"({"backend": {"url": "http://127.0.0.1:3000"}})");
    const auto loaded = parsed(R"({"backend": {"url": "http://127.0.0.1:4000",
                                               "response_timeout_ms": 500},
                                   "capture": {"max_body_bytes": 1024, "retry_after_s": 5},
                                   "limits": {"max_connections": 7},
                                   "circuit_breaker": {"enabled": true},
                                   "rate_limit": {"requests_per_second": 2},
                                   "log": {"level": "debug"}})");
    const auto plan = plan_reload(running, loaded, proxy_key_class);
    EXPECT_EQ(plan.applied, (keys{"backend.url", "backend.endpoints", "backend.response_timeout_ms",
                                  "circuit_breaker.enabled", "limits.max_connections",
                                  "rate_limit.requests_per_second", "capture.max_body_bytes",
                                  "capture.retry_after_s", "log.level"}));
    EXPECT_TRUE(plan.ignored.empty());
    EXPECT_EQ(plan.effective.backend.endpoints.front().port, 4000);
    EXPECT_EQ(plan.effective.backend.address.port, 4000);
    EXPECT_EQ(plan.effective.capture.max_body_bytes, 1024u);
    EXPECT_EQ(plan.effective.limits.max_connections, 7u);
    EXPECT_EQ(plan.effective.log.level, "debug");
}

TEST(ConfigDiffTest, RestartKeysOfTheProxyAreReportedAndKeepTheirRunningValue) {
    const auto running = parsed(R"({"listen": "127.0.0.1:8080", "threads": 2,
                                    "kafka": {"topic": "a"}, "spool": {"dir": "/tmp/a"},
                                    "admin": {"listen": "127.0.0.1:9901"}})");
    const auto loaded = parsed(R"({"listen": "127.0.0.1:8081", "threads": 3,
                                   "kafka": {"topic": "b", "properties": {"linger.ms": "5"}},
                                   "spool": {"dir": "/tmp/b"}, "admin": {"listen": "off"},
                                   "log": {"format": "json"},
                                   "capture": {"retry_after_s": 9}})");
    const auto plan = plan_reload(running, loaded, proxy_key_class);
    EXPECT_EQ(plan.ignored, (keys{"listen", "threads", "kafka.topic", "kafka.properties",
                                  "spool.dir", "admin.listen", "log.format"}));
    EXPECT_EQ(plan.applied, (keys{"capture.retry_after_s"}));
    EXPECT_EQ(plan.effective.listen.port, 8080);
    EXPECT_EQ(plan.effective.threads, 2u);
    EXPECT_EQ(plan.effective.kafka.topic, "a");
    EXPECT_TRUE(plan.effective.kafka.properties.empty());
    EXPECT_EQ(plan.effective.spool.dir, "/tmp/a");
    EXPECT_TRUE(plan.effective.admin.enabled);
    EXPECT_EQ(plan.effective.log.format, "text");
    EXPECT_EQ(plan.effective.capture.retry_after_s, 9u);
}

TEST(ConfigDiffTest, KeysABinaryDoesNotReadAreNotReported) {
    const auto running = parsed("{}");
    const auto loaded =
        parsed(R"({"replay": {"concurrency": 3}, "limits": {"max_connections": 9}})");
    const auto proxy = plan_reload(running, loaded, proxy_key_class);
    EXPECT_EQ(proxy.applied, (keys{"limits.max_connections"}));
    EXPECT_TRUE(proxy.ignored.empty());
    EXPECT_EQ(proxy.effective.replay.concurrency, running.replay.concurrency);

    const auto replay = plan_reload(running, loaded, replay_key_class);
    EXPECT_EQ(replay.applied, (keys{"replay.concurrency"}));
    EXPECT_TRUE(replay.ignored.empty());
    EXPECT_EQ(replay.effective.replay.concurrency, 3u);
    EXPECT_EQ(replay.effective.limits.max_connections, running.limits.max_connections);
}

TEST(ConfigDiffTest, TheReplayReloadsItsRateAndConcurrencyOnly) {
    const auto running = parsed("{}");
    const auto loaded = parsed(R"({"backend": {"url": "http://127.0.0.1:4000"},
                                   "replay": {"rate_limit": 5, "max_attempts": 2,
                                              "group_id": "other"}})");
    const auto plan = plan_reload(running, loaded, replay_key_class);
    EXPECT_EQ(plan.applied, (keys{"replay.rate_limit"}));
    EXPECT_EQ(plan.ignored, (keys{"backend.url", "replay.group_id", "replay.max_attempts"}));
    EXPECT_EQ(plan.effective.backend.address.port, running.backend.address.port);
    EXPECT_EQ(plan.effective.replay.rate_limit, 5);
    EXPECT_EQ(plan.effective.replay.group_id, running.replay.group_id);
}

// The listener's certificate changes live; turning TLS on or off changes what the workers accept
// and needs a restart, and then the whole tls section keeps its running value.
TEST(ConfigDiffTest, TlsFilesChangeLiveButTurningTlsOnOrOffNeedsARestart) {
    const auto plain = parsed(R"({"backend": {"url": "http://127.0.0.1:3000"}})");
    const auto tls_a = parsed(R"({"backend": {"url": "http://127.0.0.1:3000"},
                                  "tls": {"cert_file": "/a.pem", "key_file": "/a.key"}})");
    const auto tls_b = parsed(R"({"backend": {"url": "http://127.0.0.1:3000"},
                                  "tls": {"cert_file": "/b.pem", "key_file": "/a.key",
                                          "min_version": "1.3"}})");

    const auto renewed = plan_reload(tls_a, tls_b, proxy_key_class);
    EXPECT_EQ(renewed.applied, (keys{"tls.cert_file", "tls.min_version"}));
    EXPECT_TRUE(renewed.ignored.empty());
    EXPECT_EQ(renewed.effective.tls.cert_file, "/b.pem");
    EXPECT_EQ(renewed.effective.tls.min_version, "1.3");

    const auto switched_on = plan_reload(plain, tls_a, proxy_key_class);
    EXPECT_TRUE(switched_on.applied.empty());
    EXPECT_EQ(switched_on.ignored, keys{"tls"});
    EXPECT_FALSE(switched_on.effective.tls.enabled()) << "still a plain listener";

    const auto switched_off = plan_reload(tls_a, plain, proxy_key_class);
    EXPECT_EQ(switched_off.ignored, keys{"tls"});
    EXPECT_EQ(switched_off.effective.tls.cert_file, "/a.pem") << "still a TLS listener";

    const auto replay = plan_reload(tls_a, tls_b, replay_key_class);
    EXPECT_TRUE(replay.applied.empty() && replay.ignored.empty()) << "the replay has no listener";
}

// https:// to the same host and port is another backend; backend.tls.* are the proxy's live keys
// and need a restart of the replay (its pool is bound to them).
TEST(ConfigDiffTest, BackendTlsKeysAndTheSchemeOfAnEndpointAreChanges) {
    const auto plain = parsed(R"({"backend": {"endpoints": ["http://10.0.0.1:8443"]}})");
    const auto https = parsed(R"({"backend": {"endpoints": ["https://10.0.0.1:8443"],
                                              "tls": {"server_name": "api.test"}}})");
    const auto plan = plan_reload(plain, https, proxy_key_class);
    // The url follows the first endpoint when only the list is given.
    EXPECT_EQ(plan.applied, (keys{"backend.url", "backend.endpoints", "backend.tls.server_name"}));
    EXPECT_TRUE(plan.effective.backend.endpoints.front().tls);

    const auto replay = plan_reload(plain, https, replay_key_class);
    EXPECT_EQ(replay.ignored, (keys{"backend.url", "backend.tls.server_name"}));
    EXPECT_EQ(replay.effective.backend.tls.server_name, "");
}

TEST(ConfigDiffTest, KeysDifferByPrefix) {
    const auto a = parsed("{}");
    const auto b = parsed(R"({"rate_limit": {"trusted_proxies": ["10.0.0.0/8"]}})");
    EXPECT_TRUE(keys_differ(a, b, "rate_limit."));
    EXPECT_FALSE(keys_differ(a, b, "capture."));
    EXPECT_FALSE(keys_differ(b, b, "rate_limit."));
}

TEST(ConfigDiffTest, KeysAreJoinedForTheLogLine) {
    EXPECT_EQ(join_keys({"a", "b"}), "a, b");
    EXPECT_EQ(join_keys({}), "");
}

}  // namespace
}  // namespace spillway::config
