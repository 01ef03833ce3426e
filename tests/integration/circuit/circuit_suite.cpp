#include "circuit_suite.hpp"

namespace spillway::test::circuit_suite {

nlohmann::json breaker(unsigned failure_threshold, long open_ms) {
    return {{"circuit_breaker",
             {{"enabled", true}, {"failure_threshold", failure_threshold}, {"open_ms", open_ms}}}};
}

nlohmann::json endpoints(const std::vector<std::string>& urls, nlohmann::json more) {
    nlohmann::json settings = {{"backend", {{"endpoints", urls}}}};
    if (!more.is_null()) {
        settings.merge_patch(more);
    }
    return settings;
}

std::string endpoint_name(const std::string& url) {
    return url.substr(url.find("://") + 3);
}

double circuit_state(const spillway_proxy& p, const std::string& url) {
    return p.metric("spillway_circuit_state", {{"endpoint", endpoint_name(url)}}).value_or(-1);
}

double transitions(const spillway_proxy& p, const std::string& url, const std::string& to) {
    return p
        .metric("spillway_circuit_transitions_total",
                {{"endpoint", endpoint_name(url)}, {"to", to}})
        .value_or(-1);
}

double connects(const spillway_proxy& p, const std::string& url, const std::string& result) {
    return p
        .metric("spillway_upstream_connects_total",
                {{"endpoint", endpoint_name(url)}, {"result", result}})
        .value_or(-1);
}

}  // namespace spillway::test::circuit_suite
