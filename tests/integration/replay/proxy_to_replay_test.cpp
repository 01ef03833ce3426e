// The promise end to end, through the real proxy, the devbroker and the real replay: what the
// live attempt sent and what the replay sends belong to one request (the same Idempotency-Key,
// the same X-Forwarded-*), and a body of any bytes within capture.max_body_bytes is queued and
// replayed whole.

#include "replay_fixture.hpp"
#include "support/captures.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

namespace spillway::test::replay {
namespace {

class ProxyToReplayTest : public ReplayTest {
protected:
    void SetUp() override {
        replay_settings settings;
        settings.dedupe = true;  // the backend applies a key once, as the sample API does
        start_environment(settings);
    }

    std::unique_ptr<spillway_proxy> start_proxy(const nlohmann::json& settings = {}) {
        proxy_options o;
        o.backend_url = backend_->url();
        o.brokers = broker_->bootstrap();
        o.spool_dir = *dir_ / "spool";
        o.settings = settings;
        return std::make_unique<spillway_proxy>(o);
    }

    // The one envelope the proxy captured (checked to be in the topic, not only spooled).
    envelope::envelope captured_envelope() {
        const auto records = read_records(broker_->bootstrap(), 1);
        EXPECT_EQ(records.size(), 1u);
        if (records.empty() || !records.front().envelope) {
            ADD_FAILURE() << "no envelope in the topic";
            return {};
        }
        return *records.front().envelope;
    }
};

// The issue's case: the backend needs longer than backend.response_timeout_ms, so the proxy
// captures a POST that the backend did receive (timeout, sent_upstream: true) and the replay
// sends it again. One key for both: the backend applies it once.
TEST_F(ProxyToReplayTest, ATimedOutPostIsAppliedOnceWithOneKeyLiveAndReplayed) {
    backend_->on("/slow", route{.status = 201, .delay = 1500ms});
    auto proxy = start_proxy({{"backend", {{"response_timeout_ms", 300}}}});
    http_client client(proxy->port(), 10s);
    const auto id = expect_captured(client.request(
        make_request("POST", "/slow", {{"Content-Type", "application/json"}}, R"({"n":1})")));
    ASSERT_FALSE(id.empty());
    const auto e = captured_envelope();
    EXPECT_EQ(e.failure.kind, core::failure_kind::timeout);
    EXPECT_TRUE(e.failure.sent_upstream);
    EXPECT_EQ(find_header(e.headers, "Idempotency-Key"), std::nullopt)
        << "the key the proxy added is not the client's: it stays out of the envelope";

    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(2, 30s));
    const auto requests = backend_->requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].count("Idempotency-Key"), 1u);
    EXPECT_EQ(requests[0].header("Idempotency-Key"), id) << "the live attempt carries the key";
    EXPECT_EQ(requests[1].header("X-Spillway-Replay-Attempt"), "1");
    EXPECT_EQ(requests[1].count("Idempotency-Key"), 1u);
    EXPECT_EQ(requests[1].header("Idempotency-Key"), id) << "the replay carries the same key";
    EXPECT_EQ(backend_->effects(), (std::map<std::string, unsigned>{{id, 1u}}));
    EXPECT_EQ(backend_->duplicates(), 1u) << "the replay was recognised as the same request";
}

TEST_F(ProxyToReplayTest, AClientsOwnIdempotencyKeyIsTheOneSentLiveAndReplayed) {
    backend_->script({503});
    auto proxy = start_proxy();
    http_client client(proxy->port(), 10s);
    const auto id = expect_captured(client.request(
        make_request("POST", "/api/users", {{"idempotency-key", "client-key-7"}}, "{}")));
    ASSERT_FALSE(id.empty());
    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(2, 30s));
    for (const auto& r : backend_->requests()) {
        EXPECT_EQ(r.count("Idempotency-Key"), 1u) << r.raw;
        EXPECT_EQ(r.header("Idempotency-Key"), "client-key-7") << r.raw;
    }
}

// Live, the proxy appends the peer to X-Forwarded-For and sets -Proto and -Host itself; the
// replay sends exactly those (derived from the envelope), never the client's -Host or -Proto.
TEST_F(ProxyToReplayTest, SpoofedForwardedHeadersReachTheBackendNeitherLiveNorReplayed) {
    backend_->script({503});
    auto proxy = start_proxy();
    http_client client(proxy->port(), 10s);
    const auto id =
        expect_captured(client.request(make_request("POST", "/api/users",
                                                    {{"X-Forwarded-For", "6.6.6.6"},
                                                     {"X-Forwarded-Host", "admin.internal"},
                                                     {"X-Forwarded-Proto", "https"}},
                                                    "{}", "shop.test")));
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(captured_envelope().scheme, "http");

    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(2, 30s));
    const auto requests = backend_->requests();
    ASSERT_EQ(requests.size(), 2u);
    for (const auto& r : requests) {
        SCOPED_TRACE(r.raw);
        EXPECT_EQ(r.count("X-Forwarded-For"), 1u);
        EXPECT_EQ(r.header("X-Forwarded-For"), "6.6.6.6, 127.0.0.1");
        EXPECT_EQ(r.count("X-Forwarded-Host"), 1u);
        EXPECT_EQ(r.header("X-Forwarded-Host"), "shop.test");
        EXPECT_EQ(r.count("X-Forwarded-Proto"), 1u);
        EXPECT_EQ(r.header("X-Forwarded-Proto"), "http");
        EXPECT_EQ(r.raw.find("admin.internal"), std::string::npos);
        EXPECT_EQ(r.raw.find("https"), std::string::npos);
    }
}

// JSON escapes a control byte in six (\u0001): such a body used to make an envelope larger than
// the record limit, answered queued:false. Any body within capture.max_body_bytes fits.
TEST_F(ProxyToReplayTest, AFourMebibyteBodyOfControlBytesIsQueuedAndReplayedByteExact) {
    backend_->script({503});
    auto proxy = start_proxy();
    const std::string body(4 << 20, '\x01');
    http_client client(proxy->port(), 30s);
    const auto id = expect_captured(client.request(
        make_request("POST", "/upload", {{"Content-Type", "application/octet-stream"}}, body)));
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(proxy->wait_for_metric("spillway_captured_total",
                                       {{"failure", "upstream_status"}, {"sink", "kafka"}}, 1, 10s))
        << "stored in Kafka, not only in the spool";

    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(2, 60s));
    const auto requests = backend_->requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[1].target, "/upload");
    EXPECT_EQ(requests[1].body.size(), body.size());
    EXPECT_TRUE(requests[1].body == body) << "the replayed body differs from what was sent";
}

}  // namespace
}  // namespace spillway::test::replay
