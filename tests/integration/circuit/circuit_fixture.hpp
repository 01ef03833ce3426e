#pragma once
// What the circuit-breaker and several-endpoint tests share: the capture suite's proxy (the real
// binary, captures to a devbroker, so a circuit_open capture is acked at once) configured with a
// circuit breaker and endpoint list, and waits on its /metrics with a deadline.

#include "integration/capture/capture_fixture.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace spillway::test::circuit_suite {

using namespace std::chrono_literals;
using capture_suite::metric;

// The settings that turn the breaker on.
nlohmann::json breaker(unsigned failure_threshold, long open_ms);

// {"backend": {"endpoints": urls}} merged with `more` (RFC 7386).
nlohmann::json endpoints(const std::vector<std::string>& urls, nlohmann::json more = {});

// "http://127.0.0.1:PORT" -> "127.0.0.1:PORT", as the metrics and the envelope name it.
std::string endpoint_name(const std::string& url);

// spillway_circuit_state of an endpoint (-1 when the admin listener has no such sample).
double circuit_state(std::uint16_t admin_port, const std::string& url);

double transitions(std::uint16_t admin_port, const std::string& url, const std::string& to);

double connects(std::uint16_t admin_port, const std::string& url, const std::string& result);

// Polls the metric until it equals `value` (false after `timeout`).
bool wait_metric(std::uint16_t admin_port, std::string_view name, const header_list& labels,
                 double value, std::chrono::milliseconds timeout = 10s);

}  // namespace spillway::test::circuit_suite
