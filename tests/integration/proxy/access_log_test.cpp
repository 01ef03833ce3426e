// One access-log line per request (DESIGN.md "Admin and observability"): method, uri, status
// and request id, as text by default and as JSON with log.format = "json".

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace spillway::test {
namespace {

using json = nlohmann::json;

// The request id the proxy generated for the last request the backend received.
std::string forwarded_request_id(const fake_backend& backend) {
    auto all = backend.requests();
    return all.empty() ? std::string() : all.back().header("X-Request-Id").value_or("");
}

// The lines of the proxy's output that mention `text`.
std::vector<std::string> lines_with(process& p, const std::string& text) {
    std::vector<std::string> out;
    std::istringstream all(p.stdout_text() + "\n" + p.stderr_text());
    for (std::string line; std::getline(all, line);) {
        if (line.find(text) != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

TEST(ProxyAccessLog, TextLinePerRequest) {
    fake_backend backend;
    backend.on("/logged", route{.status = 201});
    spillway_proxy proxy(backend.url(), {{"log", {{"level", "info"}, {"format", "text"}}}});
    auto res = fetch(proxy.port(), "POST", "/logged?q=1", {}, "body");
    ASSERT_EQ(res.status, 201u);
    const auto id = forwarded_request_id(backend);
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(proxy.proc().wait_for_output(id, 5s)) << "no access-log line with id " << id;
    const auto lines = lines_with(proxy.proc(), id);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("POST /logged?q=1"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find(" 201 "), std::string::npos) << lines[0];
}

// The target came from the client: a quote in it is escaped, so it cannot end the request field
// early (and control bytes, which the parser refuses anyway, would be escaped the same way).
TEST(ProxyAccessLog, TextLineEscapesWhatTheClientSent) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), {{"log", {{"level", "info"}, {"format", "text"}}}});
    auto res = fetch(proxy.port(), "GET", "/t/\"q\"\\x");
    ASSERT_EQ(res.status, 200u);
    const auto id = forwarded_request_id(backend);
    ASSERT_TRUE(proxy.proc().wait_for_output(id, 5s)) << "no access-log line with id " << id;
    const auto lines = lines_with(proxy.proc(), id);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("\"GET /t/\\\"q\\\"\\\\x HTTP/1.1\""), std::string::npos) << lines[0];
}

TEST(ProxyAccessLog, JsonLinePerRequest) {
    fake_backend backend;
    spillway_proxy proxy(backend.url(), {{"log", {{"level", "info"}, {"format", "json"}}}});
    auto res = fetch(proxy.port(), "GET", "/json/\"quoted\"");
    ASSERT_EQ(res.status, 200u);
    const auto id = forwarded_request_id(backend);
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(proxy.proc().wait_for_output(id, 5s)) << "no access-log line with id " << id;
    const auto lines = lines_with(proxy.proc(), id);
    ASSERT_EQ(lines.size(), 1u);
    // The access record is the line itself or a field of the logger's own JSON object.
    ASSERT_TRUE(json::accept(lines[0])) << lines[0];
    auto record = json::parse(lines[0]);
    if (!record.contains("request_id")) {
        for (const auto& [key, value] : record.items()) {
            if (value.is_object() && value.contains("request_id")) {
                record = value;
            } else if (value.is_string() && json::accept(value.get<std::string>())) {
                auto inner = json::parse(value.get<std::string>());
                if (inner.is_object() && inner.contains("request_id")) {
                    record = inner;
                }
            }
        }
    }
    EXPECT_EQ(record.value("request_id", ""), id) << lines[0];
    EXPECT_EQ(record.value("method", ""), "GET") << lines[0];
    EXPECT_EQ(record.value("uri", ""), "/json/\"quoted\"") << lines[0];
    EXPECT_EQ(record.value("status", 0), 200) << lines[0];
}

}  // namespace
}  // namespace spillway::test
