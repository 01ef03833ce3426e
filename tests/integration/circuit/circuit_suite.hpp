#pragma once
// What the circuit-breaker and several-endpoint tests share: the settings that turn the breaker
// on and list endpoints, and the proxy's per-endpoint metrics, named by the backend's URL.

#include "support/proxy_fixture.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace spillway::test::circuit_suite {

// The settings that turn the breaker on.
nlohmann::json breaker(unsigned failure_threshold, long open_ms);

// {"backend": {"endpoints": urls}} merged with `more` (RFC 7386).
nlohmann::json endpoints(const std::vector<std::string>& urls, nlohmann::json more = {});

// "http://127.0.0.1:PORT" -> "127.0.0.1:PORT", as the metrics and the envelope name it.
std::string endpoint_name(const std::string& url);

// spillway_circuit_state of an endpoint (-1 when the admin listener has no such sample).
double circuit_state(const spillway_proxy& p, const std::string& url);

double transitions(const spillway_proxy& p, const std::string& url, const std::string& to);

double connects(const spillway_proxy& p, const std::string& url, const std::string& result);

}  // namespace spillway::test::circuit_suite
