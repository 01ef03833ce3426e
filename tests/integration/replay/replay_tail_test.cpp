// spillway-replay --tail: shows the queue without sending or committing anything.

#include "replay_fixture.hpp"

namespace spillway::test::replay {
namespace {

TEST_F(ReplayTest, TailPrintsQueuedEnvelopesWithoutSendingOrCommitting) {
    start_environment({.partitions = 1});
    auto a = make_envelope("/api/a", "{\"x\":1}");
    auto b = make_envelope("/api/b", "");
    b.method = "DELETE";
    produce_envelopes(broker_->bootstrap(), "failed-requests", {a, b});
    produce(broker_->bootstrap(), "failed-requests", {{"k", "garbage"}});

    auto& text = start_replay({"--tail", "--from-beginning"}, false);
    ASSERT_TRUE(text.wait_for_output(" @0/2", 20s)) << text.stdout_text() << text.stderr_text();
    EXPECT_EQ(text.stop(), 0);
    auto out = text.stdout_text();
    EXPECT_NE(out.find(a.received_at + " " + a.id +
                       " POST /api/a connect_error body=7B "
                       "attempts=0 @0/0\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(b.id + " DELETE /api/b connect_error body=0B"), std::string::npos) << out;
    EXPECT_NE(out.find("# invalid envelope ("), std::string::npos) << out;

    auto& curl = start_replay({"--tail", "--from-beginning", "--format", "curl"}, false);
    ASSERT_TRUE(curl.wait_for_output(" @0/2", 20s));
    EXPECT_EQ(curl.stop(), 0);
    EXPECT_NE(curl.stdout_text().find("curl -q -sS --globoff -X 'POST' '" + backend_->url() +
                                      "/api/a' -H 'Host: api.example:8080'"),
              std::string::npos)
        << curl.stdout_text();

    auto& json = start_replay({"--tail", "--from-beginning", "--format=json"}, false);
    ASSERT_TRUE(json.wait_for_output(" @0/2", 20s));
    EXPECT_EQ(json.stop(), 0);
    auto first_line = json.stdout_text().substr(0, json.stdout_text().find('\n'));
    EXPECT_EQ(nlohmann::json::parse(first_line)["id"], a.id);

    EXPECT_EQ(backend_->request_count(), 0u) << "--tail sends nothing";
    EXPECT_TRUE(
        committed_offsets(broker_->bootstrap(), "spillway-replay", "failed-requests").empty())
        << "--tail commits nothing";
}

TEST_F(ReplayTest, TailRejectsAnUnknownFormat) {
    auto r = run_command({bin_path("spillway-replay"), {"--tail", "--format", "yaml"}}, 10s);
    EXPECT_EQ(r.exit_status, 2);
    EXPECT_NE(r.err.find("--format"), std::string::npos);
}

}  // namespace
}  // namespace spillway::test::replay
