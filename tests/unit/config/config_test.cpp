#include "spillway/config/config.hpp"

#include "unit/config/config_fixture.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace spillway::config {
namespace {

using namespace test_support;

class ConfigTest : public ConfigFixture {};

TEST_F(ConfigTest, EmptyDocumentGivesDocumentedDefaults) {
    config c = parse("{}", lookup);
    EXPECT_EQ(c.listen.to_string(), "0.0.0.0:8080");
    EXPECT_EQ(c.backend.address.host, "127.0.0.1");
    EXPECT_EQ(c.backend.address.port, 3000);
    EXPECT_EQ(c.kafka.topic, "failed-requests");
    EXPECT_EQ(c.replay.dlq_topic, "failed-requests.dlq");
    EXPECT_EQ(c.replay.group_id, "spillway-replay");
    EXPECT_TRUE(c.replay.adaptive);
    EXPECT_EQ(c.capture.on, (std::vector<unsigned>{502, 503, 504}));
    EXPECT_EQ(c.capture.response_status, 503u);
    EXPECT_FALSE(c.admin.listen.has_value());
    EXPECT_EQ(c.health_path, "/health");
}

TEST_F(ConfigTest, ShippedConfigFileParsesAndMatchesTheDefaults) {
    config shipped = load_file(SPILLWAY_SOURCE_DIR "/config/spillway.json", lookup);
    config defaults = parse("{}", lookup);
    EXPECT_EQ(shipped.listen.to_string(), defaults.listen.to_string());
    EXPECT_EQ(shipped.backend.url, defaults.backend.url);
    EXPECT_EQ(shipped.limits.max_header_bytes, defaults.limits.max_header_bytes);
    EXPECT_EQ(shipped.capture.max_body_bytes, defaults.capture.max_body_bytes);
    EXPECT_EQ(shipped.capture.redact_headers, defaults.capture.redact_headers);
    EXPECT_EQ(shipped.kafka.delivery_timeout, defaults.kafka.delivery_timeout);
    EXPECT_EQ(shipped.spool.max_bytes, defaults.spool.max_bytes);
    EXPECT_EQ(shipped.replay.max_attempts, defaults.replay.max_attempts);
    EXPECT_EQ(shipped.replay.adaptive, defaults.replay.adaptive);
    EXPECT_EQ(shipped.shutdown_timeout, defaults.shutdown_timeout);
}

TEST_F(ConfigTest, WrongTypeNamesTheKey) {
    EXPECT_EQ(error_of(R"({"kafka":{"topic":5}})"), "kafka.topic: expected a string");
    EXPECT_EQ(error_of(R"({"threads":"many"})"), "threads: expected a non-negative integer");
    EXPECT_EQ(error_of(R"({"threads":-1})"), "threads: expected a non-negative integer");
    EXPECT_EQ(error_of(R"({"limits":{"idle_timeout_ms":1.5}})"),
              "limits.idle_timeout_ms: expected a non-negative integer");
    EXPECT_EQ(error_of(R"({"log":{"access_log":"yes"}})"),
              "log.access_log: expected true or false");
    EXPECT_EQ(error_of(R"({"replay":{"adaptive":1}})"), "replay.adaptive: expected true or false");
}

TEST_F(ConfigTest, UnknownKeysAreErrors) {
    EXPECT_EQ(error_of(R"({"listn":"1.2.3.4:80"})"), "listn: unknown key");
    EXPECT_EQ(error_of(R"({"backend":{"urll":"x"}})"), "backend.urll: unknown key");
}

TEST_F(ConfigTest, InvalidValuesNameTheKey) {
    EXPECT_EQ(error_of(R"({"listen":"nope"})"), "listen: expected host:port, got \"nope\"");
    EXPECT_EQ(error_of(R"({"listen":"1.2.3.4:99999"})"),
              "listen: expected a port 0..65535 in \"1.2.3.4:99999\"");
    EXPECT_EQ(error_of(R"({"backend":{"url":"ftp://x:1"}})"),
              "backend.url: expected http://host:port or https://host:port");
    EXPECT_EQ(error_of(R"({"kafka":{"key":"random"}})"),
              "kafka.key: expected id, client_ip or header:<Name>");
    EXPECT_EQ(error_of(R"({"log":{"format":"xml"}})"), "log.format: expected text or json");
    EXPECT_EQ(error_of(R"({"capture":{"on":[502, 700]}})"),
              "capture.on: statuses must be 100..599");
    EXPECT_EQ(error_of(R"({"kafka":{"properties":{"acks":1}}})"),
              "kafka.properties.acks: expected a string");
    EXPECT_EQ(error_of("{not json"), error_of("{not json"));
    EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
}

TEST_F(ConfigTest, BackendUrlForms) {
    EXPECT_EQ(
        parse(R"({"backend":{"url":"http://api:3000/"}})", lookup).backend.address.to_string(),
        "api:3000");
    EXPECT_EQ(parse(R"({"backend":{"url":"http://api"}})", lookup).backend.address.port, 80);
    EXPECT_EQ(parse(R"({"backend":{"url":"http://[::1]:8081"}})", lookup).backend.address.host,
              "::1");
}

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
    fake_env()["SPILLWAY_LISTEN"] = "127.0.0.1:9000";
    fake_env()["SPILLWAY_BACKEND"] = "http://backend:81";
    fake_env()["SPILLWAY_KAFKA_BROKERS"] = "k1:9092,k2:9092";
    fake_env()["SPILLWAY_KAFKA_TOPIC"] = "t";
    fake_env()["SPILLWAY_DLQ_TOPIC"] = "t.dlq";
    fake_env()["SPILLWAY_GROUP_ID"] = "g";
    fake_env()["SPILLWAY_ADMIN_LISTEN"] = "127.0.0.1:1";
    fake_env()["SPILLWAY_SPOOL_DIR"] = "/tmp/s";
    fake_env()["SPILLWAY_THREADS"] = "3";
    fake_env()["SPILLWAY_LOG_LEVEL"] = "debug";
    config c = parse(R"({"listen":"0.0.0.0:1","kafka":{"topic":"file"},"threads":1})", lookup);
    EXPECT_EQ(c.listen.to_string(), "127.0.0.1:9000");
    EXPECT_EQ(c.backend.address.to_string(), "backend:81");
    EXPECT_EQ(c.kafka.brokers, "k1:9092,k2:9092");
    EXPECT_EQ(c.kafka.topic, "t");
    EXPECT_EQ(c.replay.dlq_topic, "t.dlq");
    EXPECT_EQ(c.replay.group_id, "g");
    EXPECT_EQ(c.admin.listen->to_string(), "127.0.0.1:1");
    EXPECT_EQ(c.spool.dir, "/tmp/s");
    EXPECT_EQ(c.threads, 3u);
    EXPECT_EQ(c.log.level, "debug");
}

TEST_F(ConfigTest, AdminListenOffTurnsTheListenerOff) {
    EXPECT_TRUE(parse("{}", lookup).admin.enabled);
    config c = parse(R"({"admin":{"listen":"off"}})", lookup);
    EXPECT_FALSE(c.admin.enabled);
    EXPECT_FALSE(c.admin.listen.has_value());
    fake_env()["SPILLWAY_ADMIN_LISTEN"] = "off";
    EXPECT_FALSE(parse(R"({"admin":{"listen":"127.0.0.1:1"}})", lookup).admin.enabled);
    fake_env().clear();
    EXPECT_NE(error_of(R"({"admin":{"listen":"of"}})").find("admin.listen: "), std::string::npos)
        << error_of(R"({"admin":{"listen":"of"}})");
}

TEST_F(ConfigTest, BadEnvironmentValueNamesTheVariable) {
    fake_env()["SPILLWAY_THREADS"] = "two";
    EXPECT_EQ(error_of("{}"), "SPILLWAY_THREADS: expected a non-negative integer");
    fake_env()["SPILLWAY_THREADS"] = "2";
    fake_env()["SPILLWAY_LISTEN"] = "nohost";
    EXPECT_EQ(error_of("{}"), "listen: expected host:port, got \"nohost\"");
}

TEST_F(ConfigTest, MissingFileIsAnError) {
    EXPECT_THROW(load_file("/nonexistent/spillway.json", lookup), config_error);
}

TEST_F(ConfigTest, WorkerThreadsZeroMeansOnePerCore) {
    config c = parse(R"({"threads":0})", lookup);
    EXPECT_GE(c.worker_threads(), 1u);
    EXPECT_EQ(parse(R"({"threads":4})", lookup).worker_threads(), 4u);
}

// rate_limit.*: off by default, fractional rates, trusted proxies validated and named on error.
TEST_F(ConfigTest, RateLimitSection) {
    const config defaults = parse("{}", lookup);
    EXPECT_FALSE(defaults.rate_limit.enabled());
    EXPECT_EQ(defaults.rate_limit.burst, 0u);
    EXPECT_EQ(defaults.rate_limit.max_clients, 65536u);
    EXPECT_TRUE(defaults.rate_limit.trusted_proxies.empty());

    const config c = parse(R"({"rate_limit":{"requests_per_second":0.5,"burst":3,
        "trusted_proxies":["10.0.0.0/8","2001:db8::/32","127.0.0.1"],"max_clients":1000}})",
                           lookup);
    EXPECT_TRUE(c.rate_limit.enabled());
    EXPECT_EQ(c.rate_limit.requests_per_second, 0.5);
    EXPECT_EQ(c.rate_limit.effective_burst(), 3);
    ASSERT_EQ(c.rate_limit.trusted_proxies.size(), 3u);
    EXPECT_TRUE(c.rate_limit.trusted_proxies[0].contains(*netx::parse_ip_address("10.1.2.3")));
    EXPECT_TRUE(c.rate_limit.trusted_proxies[2].contains(*netx::parse_ip_address("127.0.0.1")));
    EXPECT_EQ(c.rate_limit.max_clients, 1000u);

    const config shipped = load_file(SPILLWAY_SOURCE_DIR "/config/spillway.json", lookup);
    EXPECT_EQ(shipped.rate_limit.requests_per_second, defaults.rate_limit.requests_per_second);
    EXPECT_EQ(shipped.rate_limit.burst, defaults.rate_limit.burst);
    EXPECT_EQ(shipped.rate_limit.max_clients, defaults.rate_limit.max_clients);
    EXPECT_EQ(shipped.rate_limit.trusted_proxies.size(), 0u);
}

TEST_F(ConfigTest, RateLimitMistakesNameTheKey) {
    EXPECT_EQ(error_of(R"({"rate_limit":{"requests_per_second":-1}})"),
              "rate_limit.requests_per_second: must not be negative");
    EXPECT_EQ(error_of(R"({"rate_limit":{"requests_per_second":"10"}})"),
              "rate_limit.requests_per_second: expected a number");
    EXPECT_EQ(error_of(R"({"rate_limit":{"burst":1.5}})"),
              "rate_limit.burst: expected a non-negative integer");
    EXPECT_EQ(error_of(R"({"rate_limit":{"trusted_proxies":["10.0.0.0/33"]}})"),
              "rate_limit.trusted_proxies: \"10.0.0.0/33\" is not an IP address or a CIDR "
              "prefix such as 10.0.0.0/8");
    EXPECT_EQ(error_of(R"({"rate_limit":{"trusted_proxies":"10.0.0.0/8"}})"),
              "rate_limit.trusted_proxies: expected an array of strings");
    EXPECT_EQ(error_of(R"({"rate_limit":{"max_clients":10}})"),
              "rate_limit.max_clients: must be at least 64");
    EXPECT_EQ(error_of(R"({"rate_limit":{"rps":1}})"), "rate_limit.rps: unknown key");
}

// backend.endpoints, its precedence over backend.url, SPILLWAY_BACKEND, and circuit_breaker.*.

std::vector<std::string> names(const std::vector<host_port>& endpoints) {
    std::vector<std::string> out;
    for (const auto& e : endpoints) {
        out.push_back(e.to_string());
    }
    return out;
}

class BackendEndpointsConfig : public ConfigFixture {};

TEST_F(BackendEndpointsConfig, WithoutEndpointsTheUrlIsTheOnlyEndpoint) {
    EXPECT_EQ(names(parse("{}", lookup).backend.endpoints),
              std::vector<std::string>{"127.0.0.1:3000"});
    const auto c = parse(R"({"backend":{"url":"http://api:8000","endpoints":[]}})", lookup);
    EXPECT_EQ(names(c.backend.endpoints), std::vector<std::string>{"api:8000"});
}

TEST_F(BackendEndpointsConfig, EndpointsAloneAlsoNameTheReplayTarget) {
    const auto c = parse(
        R"({"backend":{"endpoints":["http://10.0.0.1:3000","http://10.0.0.2:3000/","http://b"]}})",
        lookup);
    EXPECT_EQ(names(c.backend.endpoints),
              (std::vector<std::string>{"10.0.0.1:3000", "10.0.0.2:3000", "b:80"}));
    EXPECT_EQ(c.backend.address.to_string(), "10.0.0.1:3000");
    EXPECT_EQ(c.backend.url, "http://10.0.0.1:3000");
}

TEST_F(BackendEndpointsConfig, AGivenUrlStaysTheReplayTarget) {
    const auto c = parse(
        R"({"backend":{"url":"http://vip:3000","endpoints":["http://a:1","http://b:2"]}})", lookup);
    EXPECT_EQ(names(c.backend.endpoints), (std::vector<std::string>{"a:1", "b:2"}));
    EXPECT_EQ(c.backend.address.to_string(), "vip:3000");
}

TEST_F(BackendEndpointsConfig, MistakesNameTheKey) {
    EXPECT_EQ(error_of(R"({"backend":{"endpoints":"http://a:1"}})"),
              "backend.endpoints: expected an array of strings");
    EXPECT_EQ(error_of(R"({"backend":{"endpoints":["http://a:1", 7]}})"),
              "backend.endpoints: expected an array of strings");
    EXPECT_EQ(error_of(R"({"backend":{"endpoints":["http://a:1","tcp://b:2"]}})"),
              "backend.endpoints[1]: expected http://host:port or https://host:port");
    EXPECT_EQ(error_of(R"({"backend":{"endpoints":["http://a:1","http://b:2","http://a:1/"]}})"),
              "backend.endpoints[2]: the same endpoint as backend.endpoints[0]");
}

TEST_F(BackendEndpointsConfig, SpillwayBackendReplacesTheEndpoints) {
    fake_env()["SPILLWAY_BACKEND"] = "http://env:9000";
    const auto c = parse(R"({"backend":{"endpoints":["http://a:1","http://b:2"]}})", lookup);
    EXPECT_EQ(names(c.backend.endpoints), std::vector<std::string>{"env:9000"});
    EXPECT_EQ(c.backend.address.to_string(), "env:9000");
}

TEST_F(BackendEndpointsConfig, SpillwayBackendMayListSeveralEndpoints) {
    fake_env()["SPILLWAY_BACKEND"] = "http://a:1, http://b:2,http://c:3";
    const auto c = parse(R"({"backend":{"url":"http://file:1"}})", lookup);
    EXPECT_EQ(names(c.backend.endpoints), (std::vector<std::string>{"a:1", "b:2", "c:3"}));
    EXPECT_EQ(c.backend.address.to_string(), "a:1");
    fake_env()["SPILLWAY_BACKEND"] = "http://a:1,,http://b:2";
    EXPECT_EQ(error_of("{}"), "SPILLWAY_BACKEND: an empty item in the list of backend URLs");
}

TEST_F(BackendEndpointsConfig, NumberTooLargeForADoubleIsAConfigError) {
    EXPECT_EQ(error_of(R"({"threads":1e309})").rfind("(file): not valid JSON: ", 0), 0u);
}

TEST_F(BackendEndpointsConfig, EnvironmentOverASectionThatIsNoObjectIsAConfigError) {
    fake_env()["SPILLWAY_BACKEND"] = "http://env:9000";
    EXPECT_EQ(error_of(R"({"backend":"http://file:1"})"), "backend: expected an object");
    fake_env().clear();
    fake_env()["SPILLWAY_KAFKA_BROKERS"] = "k:9092";
    EXPECT_EQ(error_of(R"({"kafka":5})"), "kafka: expected an object");
}

TEST_F(BackendEndpointsConfig, CircuitBreakerDefaultsAndKeys) {
    const auto d = parse("{}", lookup);
    EXPECT_FALSE(d.circuit_breaker.enabled);
    EXPECT_EQ(d.circuit_breaker.failure_threshold, 5u);
    EXPECT_EQ(d.circuit_breaker.open_duration, std::chrono::milliseconds(10000));
    const auto c = parse(
        R"({"circuit_breaker":{"enabled":true,"failure_threshold":2,"open_ms":250}})", lookup);
    EXPECT_TRUE(c.circuit_breaker.enabled);
    EXPECT_EQ(c.circuit_breaker.failure_threshold, 2u);
    EXPECT_EQ(c.circuit_breaker.open_duration, std::chrono::milliseconds(250));
}

TEST_F(BackendEndpointsConfig, CircuitBreakerMistakesNameTheKey) {
    EXPECT_EQ(error_of(R"({"circuit_breaker":{"enabled":"yes"}})"),
              "circuit_breaker.enabled: expected true or false");
    EXPECT_EQ(error_of(R"({"circuit_breaker":{"failure_threshold":0}})"),
              "circuit_breaker.failure_threshold: must be 1..1000000");
    EXPECT_EQ(error_of(R"({"circuit_breaker":{"open_ms":0}})"),
              "circuit_breaker.open_ms: must be positive");
    EXPECT_EQ(error_of(R"({"circuit_breaker":{"open_ms":-5}})"),
              "circuit_breaker.open_ms: expected a non-negative integer");
    EXPECT_EQ(error_of(R"({"circuit_breaker":{"threshold":3}})"),
              "circuit_breaker.threshold: unknown key");
}

TEST_F(BackendEndpointsConfig, ShippedConfigHasTheDefaults) {
    const auto shipped = load_file(SPILLWAY_SOURCE_DIR "/config/spillway.json", lookup);
    const auto defaults = parse("{}", lookup);
    EXPECT_EQ(names(shipped.backend.endpoints), names(defaults.backend.endpoints));
    EXPECT_EQ(shipped.circuit_breaker.enabled, defaults.circuit_breaker.enabled);
    EXPECT_EQ(shipped.circuit_breaker.failure_threshold,
              defaults.circuit_breaker.failure_threshold);
    EXPECT_EQ(shipped.circuit_breaker.open_duration, defaults.circuit_breaker.open_duration);
}

TEST_F(ConfigTest, IdempotencyHeaderIsAHeaderNameOrNothing) {
    EXPECT_EQ(parse("{}", lookup).capture.idempotency_header, "Idempotency-Key");
    EXPECT_EQ(parse(R"({"capture":{"idempotency_header":"X-Dedupe"}})", lookup)
                  .capture.idempotency_header,
              "X-Dedupe");
    EXPECT_EQ(parse(R"({"capture":{"idempotency_header":""}})", lookup).capture.idempotency_header,
              "");
    EXPECT_EQ(error_of(R"({"capture":{"idempotency_header":"Bad Name:"}})"),
              "capture.idempotency_header: expected a header name (or \"\" for none)");
    EXPECT_EQ(error_of(R"({"capture":{"idempotency_header":7}})"),
              "capture.idempotency_header: expected a string");
    const config shipped = load_file(SPILLWAY_SOURCE_DIR "/config/spillway.json", lookup);
    EXPECT_EQ(shipped.capture.idempotency_header, "Idempotency-Key");
}

}  // namespace
}  // namespace spillway::config
