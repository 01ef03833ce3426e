// Each failure kind end to end: a client request through the real proxy, the 503 "queued" answer,
// and the envelope read back from the devbroker's topic with kcat, field by field and against the
// JSON Schema.

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <regex>

namespace spillway::test::capture_suite {
namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using spillway::core::failure_kind;

std::string utc_millis(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms.count() % 1000));
    return buf;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Nothing the proxy adds goes into the envelope, even though the backend saw it.
void expect_nothing_added(const spillway::envelope::envelope& e) {
    for (const auto& [name, value] : e.headers) {
        const auto n = lower(name);
        EXPECT_NE(n.rfind("x-forwarded-", 0), 0u) << name << ": " << value;
        EXPECT_NE(n, "x-request-id") << value;
        EXPECT_NE(n, "traceparent") << value;
        EXPECT_NE(n, "content-length") << value;
        EXPECT_NE(n, "transfer-encoding") << value;
    }
}

// The record's key and headers name the id and the failure, and the value agrees.
void expect_record_matches(const captured& c, const std::string& id, std::string_view kind) {
    ASSERT_TRUE(c.envelope.has_value()) << c.parse_error << "\n" << c.message.value;
    EXPECT_EQ(c.envelope->id, id);
    EXPECT_EQ(c.message.key, id);
    EXPECT_EQ(c.message.header("spillway-id"), id);
    EXPECT_EQ(c.message.header("spillway-failure"), std::string(kind));
    EXPECT_EQ(spillway::core::to_string(c.envelope->failure.kind), kind);
    EXPECT_EQ(c.raw.value("version", 0), 1);
    EXPECT_EQ(c.raw.value("attempts", -1), 0);
    EXPECT_EQ(c.envelope->attempts, 0u);
    EXPECT_EQ(c.envelope->client_ip, "127.0.0.1");
    EXPECT_FALSE(c.envelope->failure.detail.empty());
    expect_nothing_added(*c.envelope);
}

const captured* find_id(const std::vector<captured>& records, const std::string& id) {
    for (const auto& r : records) {
        if (r.envelope && r.envelope->id == id) {
            return &r;
        }
    }
    return nullptr;
}

struct backend_address {
    std::string url;
    std::string upstream;  // host:port as the envelope names it
};

backend_address dead_backend() {
    const auto port = std::to_string(free_port());
    return {"http://127.0.0.1:" + port, "127.0.0.1:" + port};
}

TEST(CaptureFailureKinds, ConnectErrorEnvelopeFieldByField) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    const auto backend = dead_backend();
    spillway_proxy p({backend.url,
                      broker.bootstrap(),
                      spool.path(),
                      {{"capture", {{"redact_headers", {"Authorization", "x-api-key"}}}}}});

    const std::string body = R"({"name":"José","note":"✓ naïve"})";
    const std::string target = "/api/users?source=web&tag=a%20b&empty=";
    const std::string request = "POST " + target +
                                " HTTP/1.1\r\n"
                                "Host: proxy.test\r\n"
                                "Content-Type: application/json\r\n"
                                "X-Dup: one\r\n"
                                "x-dup: two\r\n"
                                "X-Dup: three\r\n"
                                "Authorization: Bearer secret-token\r\n"
                                "Connection: keep-alive, X-Hop\r\n"
                                "X-Hop: named-in-connection\r\n"
                                "Keep-Alive: timeout=5\r\n"
                                "Proxy-Connection: keep-alive\r\n"
                                "Cookie: session=abc\r\n"
                                "X-Api-Key: k-123\r\n"
                                "TE: trailers\r\n"
                                "Accept: */*\r\n"
                                "Content-Length: " +
                                std::to_string(body.size()) +
                                "\r\n"
                                "\r\n" +
                                body;
    // Duplicates kept and names as sent; hop-by-hop headers (also X-Hop, named in Connection)
    // and Content-Length left out; capture.redact_headers (matched without case) applied, and
    // capture.seal_headers (Authorization, Cookie by default) redacted too, for want of a key.
    const spillway::envelope::header_list expected_headers = {
        {"Host", "proxy.test"},   {"Content-Type", "application/json"},
        {"X-Dup", "one"},         {"x-dup", "two"},
        {"X-Dup", "three"},       {"Authorization", "[REDACTED]"},
        {"Cookie", "[REDACTED]"}, {"X-Api-Key", "[REDACTED]"},
        {"Accept", "*/*"},
    };

    const auto before = std::chrono::system_clock::now();
    http_client client(p.port());
    const auto res = client.request(request);
    const auto after = std::chrono::system_clock::now();
    const auto id = expect_captured(res);
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(res.keep_alive) << "a capture need not cost the client its connection";

    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    const auto& c = records.front();
    expect_record_matches(c, id, "connect_error");
    const auto& e = *c.envelope;
    EXPECT_EQ(e.method, "POST");
    EXPECT_EQ(e.uri, target);
    EXPECT_EQ(e.http_version, "1.1");
    EXPECT_EQ(e.headers, expected_headers);
    EXPECT_EQ(e.body, body);
    EXPECT_EQ(c.raw.value("body_encoding", ""), "utf8");
    EXPECT_EQ(c.raw.value("body", ""), body) << "a UTF-8 body travels as text";
    EXPECT_EQ(e.upstream, backend.upstream);
    EXPECT_FALSE(e.failure.status.has_value());
    EXPECT_TRUE(c.raw["failure"]["status"].is_null());
    EXPECT_FALSE(e.failure.sent_upstream);
    static const std::regex stamp(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
    EXPECT_TRUE(std::regex_match(e.received_at, stamp)) << e.received_at;
    EXPECT_GE(e.received_at, utc_millis(before - 1s));
    EXPECT_LE(e.received_at, utc_millis(after + 1s));
    expect_schema_valid(records);
}

// "in order, duplicates kept": a name that comes back after other headers stays where it was
// sent, as a replay must send it (some APIs read the order of repeated headers).
TEST(CaptureFailureKinds, InterleavedDuplicateHeadersKeepTheClientsOrder) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    spillway_proxy p({dead_backend_url(), broker.bootstrap(), spool.path(), {}});

    http_client client(p.port());
    const auto id = expect_captured(client.request(make_request("GET", "/order",
                                                                {{"Accept", "text/html"},
                                                                 {"X-Trace", "first"},
                                                                 {"Accept", "application/json"},
                                                                 {"X-Tag", "a"},
                                                                 {"X-Trace", "second"},
                                                                 {"X-Tag", "b"}})));
    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    ASSERT_TRUE(records.front().envelope.has_value()) << records.front().parse_error;
    EXPECT_EQ(records.front().envelope->id, id);
    EXPECT_EQ(records.front().envelope->headers,
              (spillway::envelope::header_list{{"Host", "proxy.test"},
                                               {"Accept", "text/html"},
                                               {"X-Trace", "first"},
                                               {"Accept", "application/json"},
                                               {"X-Tag", "a"},
                                               {"X-Trace", "second"},
                                               {"X-Tag", "b"}}));
}

TEST(CaptureFailureKinds, TimeoutWhenTheBackendNeverAnswers) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    fake_backend backend;
    backend.on("/slow", route{.delay = 20s});
    spillway_proxy p({backend.url(),
                      broker.bootstrap(),
                      spool.path(),
                      {{"backend", {{"response_timeout_ms", 300}}}}});

    http_client client(p.port());
    const auto start = steady::now();
    const auto res = client.request(make_request("GET", "/slow?page=2", {{"X-Trace", "t-1"}}));
    const auto took = steady::now() - start;
    const auto id = expect_captured(res);
    ASSERT_FALSE(id.empty());
    EXPECT_GE(took, 300ms) << "captured before the response timeout";
    EXPECT_LT(took, 3000ms) << "the response timeout was not applied";
    ASSERT_TRUE(backend.wait_for_requests(1, 1s));

    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    const auto& c = records.front();
    expect_record_matches(c, id, "timeout");
    const auto& e = *c.envelope;
    EXPECT_EQ(e.method, "GET");
    EXPECT_EQ(e.uri, "/slow?page=2");
    EXPECT_EQ(e.headers,
              (spillway::envelope::header_list{{"Host", "proxy.test"}, {"X-Trace", "t-1"}}));
    EXPECT_EQ(e.body, "");
    EXPECT_EQ(e.upstream, "127.0.0.1:" + std::to_string(backend.port()));
    EXPECT_FALSE(e.failure.status.has_value());
    EXPECT_TRUE(e.failure.sent_upstream) << "the backend had the request";
    expect_schema_valid(records);
}

TEST(CaptureFailureKinds, UpstreamStatusesInCaptureOnRecordTheStatus) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    fake_backend backend;
    for (unsigned s : {502u, 503u, 504u}) {
        backend.on("/s" + std::to_string(s),
                   route{.status = s, .body = "backend says " + std::to_string(s)});
    }
    spillway_proxy p({backend.url(), broker.bootstrap(), spool.path(), {}});

    std::map<std::string, unsigned> status_of;  // request id -> backend status
    std::map<std::string, std::string> version_of;
    http_client client(p.port());
    for (unsigned s : {502u, 503u}) {
        const auto target = "/s" + std::to_string(s) + "?q=" + std::to_string(s);
        const auto id = expect_captured(
            client.request(make_request("PUT", target, {{"X-Case", std::to_string(s)}}, "v")));
        ASSERT_FALSE(id.empty());
        status_of[id] = s;
        version_of[id] = "1.1";
    }
    // HTTP/1.0 on a connection of its own: the envelope keeps the client's version.
    http_client client10(p.port());
    const auto id504 = expect_captured(client10.request(
        make_request("DELETE", "/s504?q=504", {{"X-Case", "504"}}, "v", "proxy.test", "1.0")));
    ASSERT_FALSE(id504.empty());
    status_of[id504] = 504;
    version_of[id504] = "1.0";

    const auto records = read_records(broker.bootstrap(), 3);
    ASSERT_EQ(records.size(), 3u);
    const auto seen = backend.requests();
    ASSERT_EQ(seen.size(), 3u);
    for (const auto& [id, status] : status_of) {
        SCOPED_TRACE("status " + std::to_string(status));
        const auto* c = find_id(records, id);
        ASSERT_NE(c, nullptr) << "no record for " << id;
        expect_record_matches(*c, id, "upstream_status");
        const auto& e = *c->envelope;
        EXPECT_EQ(e.failure.status, status);
        EXPECT_EQ(c->raw["failure"]["status"], status);
        EXPECT_TRUE(e.failure.sent_upstream);
        EXPECT_EQ(e.uri, "/s" + std::to_string(status) + "?q=" + std::to_string(status));
        EXPECT_EQ(e.method, status == 504 ? "DELETE" : "PUT");
        EXPECT_EQ(e.http_version, version_of[id]);
        EXPECT_EQ(e.body, "v");
        EXPECT_EQ(e.headers, (spillway::envelope::header_list{{"Host", "proxy.test"},
                                                              {"X-Case", std::to_string(status)}}));
        // The backend saw the id as X-Request-Id and the proxy's X-Forwarded-For; the envelope
        // has the id in its own field and none of what the proxy added.
        const auto it = std::find_if(seen.begin(), seen.end(), [&](const recorded_request& r) {
            return r.header("X-Case") == std::to_string(status);
        });
        ASSERT_NE(it, seen.end());
        EXPECT_EQ(it->header("X-Request-Id"), id);
        EXPECT_TRUE(it->header("X-Forwarded-For").has_value());
    }
    expect_schema_valid(records);
}

TEST(CaptureFailureKinds, UpstreamResetWhenTheBackendClosesAfterReading) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    fake_backend backend;
    backend.on("/reset", route{.close_without_answer = true});
    spillway_proxy p({backend.url(), broker.bootstrap(), spool.path(), {}});

    http_client client(p.port());
    const auto id = expect_captured(client.request(
        make_request("POST", "/reset", {{"Content-Type", "text/plain"}}, "payload")));
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(backend.wait_for_requests(1, 1s));

    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    const auto& c = records.front();
    expect_record_matches(c, id, "upstream_reset");
    EXPECT_EQ(c.envelope->uri, "/reset");
    EXPECT_EQ(c.envelope->body, "payload");
    EXPECT_FALSE(c.envelope->failure.status.has_value());
    EXPECT_TRUE(c.envelope->failure.sent_upstream);
    expect_schema_valid(records);
}

TEST(CaptureFailureKinds, OtherStatusesPassThroughAndNothingIsCaptured) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    fake_backend backend;
    backend.on("/boom", route{.status = 500, .body = "boom"});
    backend.on("/missing", route{.status = 404, .body = "nope"});
    backend.on("/bad-gateway", route{.status = 502, .body = "down"});
    spillway_proxy p({backend.url(), broker.bootstrap(), spool.path(), {}});

    http_client client(p.port());
    const auto r500 = client.request(make_request("POST", "/boom", {}, "x"));
    ASSERT_FALSE(r500.error) << r500.error.message();
    EXPECT_EQ(r500.status, 500u);
    EXPECT_EQ(r500.body, "boom");
    const auto r404 = client.request(make_request("GET", "/missing"));
    ASSERT_FALSE(r404.error) << r404.error.message();
    EXPECT_EQ(r404.status, 404u);
    EXPECT_EQ(r404.body, "nope");
    EXPECT_EQ(records_in_topic(broker.bootstrap()), 0);

    // A captured request afterwards is the only record: nothing of the 500 or the 404 was on
    // its way to the topic either.
    const auto id = expect_captured(client.request(make_request("GET", "/bad-gateway")));
    const auto records = read_records(broker.bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(ids_of(records), std::vector<std::string>{id});
    EXPECT_EQ(records_in_topic(broker.bootstrap()), 1);
}

}  // namespace
}  // namespace spillway::test::capture_suite
