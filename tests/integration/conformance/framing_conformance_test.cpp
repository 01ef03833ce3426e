// The framing conformance suite (issue 11): every request framing in framing_cases.json goes
// through the real `spillway` binary, twice. Once against a recording backend, which must receive
// exactly the normalised request the case names (or nothing, when the proxy must refuse it with
// the case's status and close the connection). Once with the backend down, where the same request
// must be captured holding the same thing, read back from the devbroker's topic with kcat.

#include "spillway/http/hop_by_hop.hpp"

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>

namespace spillway::test {
namespace {

using json = nlohmann::json;

struct framing_case {
    std::string name;
    std::string request;
    json verdict;  // "forward" or a status
    json forwarded;  // for "forward": method, target, body, host (null: not checked), absent

    bool forwards() const { return verdict.is_string(); }
};

struct suite_file {
    json limits;
    std::vector<framing_case> cases;
};

const suite_file& load_suite() {
    static const suite_file suite = [] {
        std::ifstream in(std::string(SPILLWAY_SOURCE_DIR) +
                         "/tests/integration/conformance/framing_cases.json");
        const auto doc = json::parse(in);
        suite_file out{doc.at("limits"), {}};
        for (const auto& c : doc.at("cases")) {
            out.cases.push_back({c.at("name"), c.at("request"), c.at("verdict"),
                                 c.value("forwarded", json::object())});
        }
        return out;
    }();
    return suite;
}

// The final response to `bytes` on a new connection (interim 1xx skipped), and whether the
// proxy then closed the connection.
struct exchange {
    response res;
    bool closed = false;
};

exchange send_case(std::uint16_t port, const std::string& bytes) {
    http_client client(port, 10s);
    exchange out;
    if (client.connect_error()) {
        out.res.error = client.connect_error();
        return out;
    }
    out.res = client.request(bytes);
    while (!out.res.error && out.res.status >= 100 && out.res.status < 200) {
        out.res = client.read_response();
    }
    out.closed = client.wait_closed(out.res.keep_alive ? 200ms : 5s);
    return out;
}

void expect_refused(const framing_case& c, const exchange& x) {
    ASSERT_FALSE(x.res.error) << c.name << ": " << x.res.error.message();
    EXPECT_EQ(x.res.status, c.verdict.get<unsigned>()) << c.name << ": " << x.res.body;
    EXPECT_TRUE(json::accept(x.res.body)) << c.name << ": " << x.res.body;
    EXPECT_TRUE(x.closed) << c.name << ": the connection stayed open after a refusal";
}

void expect_normalised(const framing_case& c, const recorded_request& r) {
    const auto& f = c.forwarded;
    EXPECT_EQ(r.method, f.at("method").get<std::string>()) << c.name;
    EXPECT_EQ(r.target, f.at("target").get<std::string>()) << c.name;
    EXPECT_EQ(r.body, f.at("body").get<std::string>()) << c.name;
    EXPECT_EQ(r.count("Host"), 1u) << c.name;
    if (f.at("host").is_string()) {
        EXPECT_EQ(r.header("Host"), f.at("host").get<std::string>()) << c.name;
    }
    EXPECT_EQ(r.count("Transfer-Encoding"), 0u) << c.name;
    if (!r.body.empty()) {
        EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size())) << c.name;
    }
    for (const auto& name : f.at("absent")) {
        EXPECT_EQ(r.count(name.get<std::string>()), 0u) << c.name << ": " << name;
    }
    const auto present = f.value("present", json::object());  // (items() of a temporary dangles)
    for (const auto& [name, value] : present.items()) {
        EXPECT_EQ(r.header(name), value.get<std::string>()) << c.name << ": " << name;
    }
}

TEST(FramingConformance, TheFileHoldsEnoughCasesOfEachKind) {
    const auto& suite = load_suite();
    std::set<std::string> names;
    std::map<std::string, int> verdicts;
    for (const auto& c : suite.cases) {
        EXPECT_TRUE(names.insert(c.name).second) << "duplicate case " << c.name;
        ++verdicts[c.verdict.dump()];
    }
    EXPECT_GE(suite.cases.size(), 60u);
    EXPECT_GE(verdicts["\"forward\""], 20);
    for (const auto& [verdict, n] : verdicts) {
        std::cout << "verdict " << verdict << ": " << n << " cases\n";
    }
}

TEST(FramingConformance, TheBackendReceivesExactlyTheNormalisedRequestOrNothing) {
    const auto& suite = load_suite();
    fake_backend backend;
    spillway_proxy proxy(backend.url(), suite.limits);
    for (const auto& c : suite.cases) {
        const auto before = backend.request_count();
        const auto x = send_case(proxy.port(), c.request);
        if (!c.forwards()) {
            expect_refused(c, x);
            EXPECT_EQ(backend.request_count(), before) << c.name << ": reached the backend";
            continue;
        }
        ASSERT_FALSE(x.res.error) << c.name << ": " << x.res.error.message();
        EXPECT_EQ(x.res.status, 200u) << c.name << ": " << x.res.body;
        ASSERT_TRUE(backend.wait_for_requests(before + 1, 5s)) << c.name;
        const auto requests = backend.requests();
        ASSERT_EQ(requests.size(), before + 1) << c.name << ": more than one request arrived";
        expect_normalised(c, requests.back());
    }
    // Nothing the cases sent took the proxy down or left it unable to serve.
    const auto after = fetch(proxy.port(), "GET", "/after");
    EXPECT_EQ(after.status, 200u);
    EXPECT_EQ(proxy.metric("spillway_internal_errors_total"), 0);
}

TEST(FramingConformance, TheCaptureHoldsTheSameRequest) {
    const auto& suite = load_suite();
    devbroker broker;
    temp_dir spool("spillway-conformance-spool");
    spillway_proxy proxy({dead_backend_url(), broker.bootstrap(), spool.path(), suite.limits});
    std::map<std::string, const framing_case*> by_id;
    for (const auto& c : suite.cases) {
        const auto x = send_case(proxy.port(), c.request);
        if (!c.forwards()) {
            expect_refused(c, x);
            continue;
        }
        ASSERT_FALSE(x.res.error) << c.name << ": " << x.res.error.message();
        const auto id = expect_captured(x.res);
        ASSERT_FALSE(id.empty()) << c.name;
        by_id[id] = &c;
    }
    const auto records = read_records(broker.bootstrap(), static_cast<std::int64_t>(by_id.size()));
    ASSERT_EQ(records.size(), by_id.size()) << "a refused request was captured, or one was lost";
    for (const auto& record : records) {
        ASSERT_TRUE(record.envelope) << record.parse_error;
        const auto it = by_id.find(record.envelope->id);
        ASSERT_NE(it, by_id.end()) << record.envelope->id;
        const auto& c = *it->second;
        const auto& e = *record.envelope;
        const auto& f = c.forwarded;
        EXPECT_EQ(e.method, f.at("method").get<std::string>()) << c.name;
        EXPECT_EQ(e.uri, f.at("target").get<std::string>()) << c.name;
        EXPECT_EQ(e.body, f.at("body").get<std::string>()) << c.name;
        std::vector<std::string> hosts;
        for (const auto& [name, value] : e.headers) {
            EXPECT_FALSE(http_util::iequals(name, "Transfer-Encoding")) << c.name;
            for (const auto& absent : f.at("absent")) {
                EXPECT_FALSE(http_util::iequals(name, absent.get<std::string>())) << c.name;
            }
            if (http_util::iequals(name, "Host")) {
                hosts.push_back(value);
            }
        }
        if (f.at("host").is_string()) {
            EXPECT_EQ(hosts, std::vector<std::string>{f.at("host").get<std::string>()}) << c.name;
        }
    }
}

}  // namespace
}  // namespace spillway::test
