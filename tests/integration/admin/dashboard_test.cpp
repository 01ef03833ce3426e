// docs/grafana-dashboard.json and docs/alerts.yml against the daemons themselves: the dashboard
// is well-formed, every panel uses the Prometheus datasource variable, and every spillway_* series
// the dashboard's queries or the alerting rules name is one that a running proxy or replay
// exposes on /metrics. A renamed metric fails here, not on an operator's empty graph or an alert
// that can never fire. And both daemons' /metrics pass `promtool check metrics` (Prometheus'
// own parser and naming lint).

#include "integration/replay/replay_fixture.hpp"
#include "support/http_client.hpp"
#include "support/prometheus.hpp"
#include "support/proxy_fixture.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
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

// The spillway_* names in a query or a rules file.
std::set<std::string> spillway_names_in(const std::string& text) {
    static const std::regex metric_name("spillway_[a-z0-9_]+");
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), metric_name);
         it != std::sregex_iterator(); ++it) {
        out.insert(it->str());
    }
    return out;
}

// Runs `promtool check metrics` on one /metrics answer; returns what it printed, with its status.
std::string promtool_check_metrics(const std::string& exposition, const temp_dir& dir) {
    const auto input = dir.path() / "metrics.txt";
    const auto output = dir.path() / "promtool.txt";
    std::ofstream(input) << exposition;
    const int status = std::system(
        ("promtool check metrics < " + input.string() + " > " + output.string() + " 2>&1").c_str());
    std::ifstream in(output);
    std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return status == 0 ? printed : "exit status " + std::to_string(status) + ": " + printed;
}

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
    std::set<std::string> queried;
    for (const auto& e : exprs) {
        queried.merge(spillway_names_in(e));
    }
    for (const auto& name : queried) {
        EXPECT_TRUE(exposed.contains(name))
            << "the dashboard queries " << name << ", which no daemon exposes";
    }
    for (const auto& name : required_on_the_dashboard) {
        EXPECT_TRUE(queried.contains(name)) << "the dashboard does not show " << name;
    }

    std::ifstream rules_file(std::string(SPILLWAY_SOURCE_DIR) + "/docs/alerts.yml");
    const std::string rules((std::istreambuf_iterator<char>(rules_file)),
                            std::istreambuf_iterator<char>());
    const auto alerted = spillway_names_in(rules);
    EXPECT_GE(alerted.size(), 10u) << "docs/alerts.yml lost its rules";
    for (const auto& name : alerted) {
        EXPECT_TRUE(exposed.contains(name))
            << "docs/alerts.yml queries " << name << ", which no daemon exposes";
    }

    temp_dir scratch("spillway-promtool");
    for (const auto port : {proxy.admin_port(), admin_port_}) {
        const auto res = fetch(port, "GET", "/metrics");
        ASSERT_EQ(res.status, 200u);
        EXPECT_EQ(promtool_check_metrics(res.body, scratch), "") << "port " << port;
    }
}

}  // namespace
}  // namespace spillway::test::replay
