// docs/grafana-dashboard.json against the daemons themselves: it is well-formed, every panel
// uses the Prometheus datasource variable, and every spillway_* series its queries name is one
// that a running proxy or replay exposes on /metrics. A renamed metric fails here, not on an
// operator's empty graph.

#include "integration/replay/replay_fixture.hpp"
#include "support/prometheus.hpp"
#include "support/proxy_fixture.hpp"

#include <fstream>
#include <regex>

namespace spillway::test::replay {
namespace {

// What issue 6 asks the dashboard to show, at least.
const std::set<std::string> required_on_the_dashboard = {
    "spillway_requests_total",
    "spillway_captured_total",
    "spillway_spool_records",
    "spillway_spool_bytes",
    "spillway_kafka_delivery_seconds_bucket",
    "spillway_upstream_duration_seconds_bucket",
    "spillway_open_connections",
    "spillway_circuit_state",
    "spillway_replay_messages_total",
    "spillway_replay_consumer_lag",
    "spillway_replay_paused",
    "spillway_replay_attempts_total"};

void collect_exprs(const nlohmann::json& node, std::vector<std::string>& out) {
    if (node.is_object()) {
        for (const auto& [key, value] : node.items()) {
            if (key == "expr" && value.is_string()) {
                out.push_back(value.get<std::string>());
            } else {
                collect_exprs(value, out);
            }
        }
    } else if (node.is_array()) {
        for (const auto& v : node) {
            collect_exprs(v, out);
        }
    }
}

TEST_F(ReplayTest, GrafanaDashboardQueriesOnlyMetricsTheDaemonsExpose) {
    std::ifstream in(std::string(SPILLWAY_SOURCE_DIR) + "/docs/grafana-dashboard.json");
    const auto dashboard = nlohmann::json::parse(in, nullptr, false);
    ASSERT_FALSE(dashboard.is_discarded()) << "docs/grafana-dashboard.json is not JSON";

    bool has_datasource_variable = false;
    for (const auto& v : dashboard["templating"]["list"]) {
        has_datasource_variable |= v.value("type", "") == "datasource" &&
                                   v.value("query", "") == "prometheus" &&
                                   v.value("name", "") == "datasource";
    }
    EXPECT_TRUE(has_datasource_variable);
    for (const auto& p : dashboard["panels"]) {
        if (p.value("type", "") != "row") {
            EXPECT_EQ(p["datasource"]["uid"], "${datasource}") << p["title"];
            EXPECT_FALSE(p["targets"].empty()) << p["title"];
        }
    }

    temp_dir spool("spillway-dashboard-spool");
    spillway_proxy proxy({dead_backend_url(), broker_->bootstrap(), spool.path(), {}});
    start_replay();
    const auto from_proxy = scrape(proxy.admin_port());
    const auto from_replay = scrape(admin_port_);
    ASSERT_TRUE(from_proxy.ok);
    ASSERT_TRUE(from_replay.ok);
    EXPECT_TRUE(from_proxy.malformed.empty()) << from_proxy.malformed.front();
    EXPECT_TRUE(from_replay.malformed.empty()) << from_replay.malformed.front();
    auto exposed = from_proxy.series_names();
    exposed.merge(from_replay.series_names());

    std::vector<std::string> exprs;
    collect_exprs(dashboard["panels"], exprs);
    ASSERT_FALSE(exprs.empty());
    const std::regex metric_name("spillway_[a-z0-9_]+");
    std::set<std::string> queried;
    for (const auto& e : exprs) {
        for (auto it = std::sregex_iterator(e.begin(), e.end(), metric_name);
             it != std::sregex_iterator(); ++it) {
            queried.insert(it->str());
        }
    }
    for (const auto& name : queried) {
        if (exposed.contains(name)) {
            continue;
        }
        ADD_FAILURE() << "the dashboard queries " << name << ", which no daemon exposes";
    }
    for (const auto& name : required_on_the_dashboard) {
        EXPECT_TRUE(queried.contains(name)) << "the dashboard does not show " << name;
    }
}

}  // namespace
}  // namespace spillway::test::replay
