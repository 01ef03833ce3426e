// The replay consumer against the devbroker and a fake backend: what the backend receives,
// retries, dead letters, poison messages and a backend outage.

#include "replay_fixture.hpp"

namespace spillway::test::replay {
namespace {

TEST_F(ReplayTest, ReplaysEveryEnvelopeFieldByteExact) {
    auto e = make_envelope("/api/users/7?x=1&y=%20z", "");
    e.method = "PUT";
    e.headers = {{"Host", "shop.example:8080"},
                 {"content-type", "application/octet-stream"},
                 {"X-Dup", "a"},
                 {"x-dup", "b"},
                 {"X-Empty", ""}};
    e.body = std::string("\x00\x01\xff binary\r\n\r\n", 15);  // not UTF-8: base64 in the envelope
    produce_envelopes(broker_->bootstrap(), "failed-requests", {e});
    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(1, 20s));
    auto got = backend_->requests().at(0);
    std::string expected =
        "PUT /api/users/7?x=1&y=%20z HTTP/1.1\r\n"
        "Host: shop.example:8080\r\n"
        "content-type: application/octet-stream\r\n"
        "X-Dup: a\r\n"
        "x-dup: b\r\n"
        "X-Empty: \r\n"
        "X-Forwarded-Host: shop.example:8080\r\n"  // as the live attempt had them
        "X-Forwarded-For: " +
        e.client_ip +
        "\r\n"
        "X-Forwarded-Proto: http\r\n"
        "Idempotency-Key: " +
        e.id +
        "\r\n"
        "X-Spillway-Replay-Attempt: 1\r\n"
        "Content-Length: 15\r\n"
        "\r\n" +
        e.body;
    EXPECT_EQ(got.raw, expected);
}

TEST_F(ReplayTest, TwoServiceUnavailableThenOkIsDeliveredOnAttemptThreeWithOneKey) {
    backend_->script({503, 503, 200});
    auto e = make_envelope();
    produce_envelopes(broker_->bootstrap(), "failed-requests", {e});
    auto& replay = start_replay();
    ASSERT_TRUE(backend_->wait_for_effects(1, 20s));
    auto got = backend_->requests();
    ASSERT_EQ(got.size(), 3u);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].header("Idempotency-Key"), e.id) << "the key is stable across retries";
        EXPECT_EQ(got[i].header("X-Spillway-Replay-Attempt"), std::to_string(i + 1));
    }
    EXPECT_EQ(got[2].status, 200u);
    EXPECT_EQ(replay.stop(), 0) << "SIGTERM exits 0";
    EXPECT_TRUE(dead_letters().empty());
    EXPECT_EQ(committed_offsets(broker_->bootstrap(), "spillway-replay", "failed-requests").size(),
              1u)
        << "the delivered message's offset is committed";
}

TEST_F(ReplayTest, ClientErrorIsDeadLetteredWithItsReason) {
    backend_->script({404});
    auto e = make_envelope("/api/users/missing");
    produce_envelopes(broker_->bootstrap(), "failed-requests", {e});
    start_replay();
    std::vector<nlohmann::json> dlq;
    ASSERT_TRUE(wait_until([&] { return !(dlq = dead_letters()).empty(); }, 20s, 100ms));
    ASSERT_EQ(dlq.size(), 1u);
    EXPECT_EQ(dlq[0]["id"], e.id);
    EXPECT_EQ(dlq[0]["dlq"]["last_status"], 404);
    EXPECT_EQ(dlq[0]["dlq"]["attempts"], 1);
    EXPECT_NE(dlq[0]["dlq"]["reason"].get<std::string>().find("404"), std::string::npos);
    EXPECT_EQ(dlq[0]["uri"], "/api/users/missing") << "the envelope is dead-lettered whole";
    EXPECT_EQ(backend_->request_count(), 1u) << "a 4xx is not retried";
}

TEST_F(ReplayTest, ExhaustedAttemptsAreDeadLetteredWithTheLastStatus) {
    start_environment({.max_attempts = 3});
    backend_->set_default(route{.status = 500});
    produce_envelopes(broker_->bootstrap(), "failed-requests", {make_envelope()});
    start_replay();
    std::vector<nlohmann::json> dlq;
    ASSERT_TRUE(wait_until([&] { return !(dlq = dead_letters()).empty(); }, 20s, 100ms));
    EXPECT_EQ(dlq[0]["dlq"]["last_status"], 500);
    EXPECT_EQ(dlq[0]["dlq"]["attempts"], 3);
    EXPECT_EQ(dlq[0]["attempts"], 3);
    EXPECT_EQ(backend_->request_count(), 3u);
}

TEST_F(ReplayTest, PoisonMessagesAreDeadLetteredAndTheNextGoodOneDelivered) {
    start_environment({.partitions = 1});  // one partition: the good one comes after the poison
    auto bad_base64 = nlohmann::json::parse(envelope::to_json(make_envelope()));
    bad_base64["body"] = "***";
    bad_base64["body_encoding"] = "base64";
    auto crlf = make_envelope();
    crlf.headers.emplace_back("X-Evil", "a\r\nX-Injected: yes");
    auto good = make_envelope("/api/good");
    produce(broker_->bootstrap(), "failed-requests",
            {{"k1", "not json at all"},
             {"k2", bad_base64.dump()},
             {"k3", envelope::to_json(crlf)},
             {"k4", envelope::to_json(good)}});
    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(1, 20s));
    std::vector<nlohmann::json> dlq;
    ASSERT_TRUE(wait_until([&] { return (dlq = dead_letters()).size() >= 3; }, 20s, 100ms));
    ASSERT_EQ(dlq.size(), 3u);
    std::vector<std::string> reasons;
    for (const auto& d : dlq) {
        reasons.push_back(d["dlq"]["reason"].get<std::string>());
    }
    EXPECT_NE(reasons[0].find("invalid envelope"), std::string::npos) << reasons[0];
    EXPECT_EQ(dlq[0]["raw"], "not json at all");
    EXPECT_NE(reasons[1].find("base64"), std::string::npos) << reasons[1];
    // The envelope parser or the request builder refuses it, depending on which looks first.
    EXPECT_TRUE(reasons[2].find("CR, LF") != std::string::npos ||
                reasons[2].find("control character") != std::string::npos)
        << reasons[2];
    auto got = backend_->requests();
    ASSERT_EQ(got.size(), 1u) << "nothing of the poison reached the backend";
    EXPECT_EQ(got[0].target, "/api/good");
    EXPECT_EQ(got[0].raw.find("X-Injected"), std::string::npos);
}

TEST_F(ReplayTest, BackendOutageDeadLettersNothingAndDeliversEverythingAfter) {
    start_environment({.max_attempts = 3, .log_level = "debug"});
    backend_->go_down();
    std::vector<envelope::envelope> batch;
    for (int i = 0; i < 30; ++i) {
        batch.push_back(make_envelope("/api/item/" + std::to_string(i)));
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", batch);
    auto& replay = start_replay();
    ASSERT_TRUE(replay.wait_for_output("is down", 20s));
    // Outlast by far what 3 attempts would take if connect failures counted (backoff 20-80 ms):
    // 20 failed probes, 50 ms apart.
    ASSERT_TRUE(replay.wait_for_output("probe: backend still down", 20s, 20));
    backend_->come_back();
    ASSERT_TRUE(backend_->wait_for_effects(batch.size(), 20s));
    EXPECT_TRUE(replay.wait_for_output("answers again", 5s));
    for (const auto& r : backend_->requests()) {
        EXPECT_EQ(r.header("X-Spillway-Replay-Attempt"), "1") << "an outage uses no attempts";
    }
    EXPECT_EQ(replay.stop(), 0);
    EXPECT_TRUE(dead_letters().empty());
}

}  // namespace
}  // namespace spillway::test::replay
