// backend.endpoints, its precedence over backend.url, SPILLWAY_BACKEND, and circuit_breaker.*.

#include "spillway/config/config.hpp"
#include "unit/config/config_fixture.hpp"

#include <gtest/gtest.h>


namespace spillway::config {
namespace {

using namespace test_support;

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
    EXPECT_EQ(error_of(R"({"backend":{"endpoints":["http://a:1","https://b:2"]}})"),
              "backend.endpoints[1]: expected http://host:port (only plain http backends are "
              "supported)");
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
    EXPECT_EQ(shipped.circuit_breaker.failure_threshold, defaults.circuit_breaker.failure_threshold);
    EXPECT_EQ(shipped.circuit_breaker.open_duration, defaults.circuit_breaker.open_duration);
}

}  // namespace
}  // namespace spillway::config
