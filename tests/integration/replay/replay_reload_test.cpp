// SIGHUP to spillway-replay (docs/replay.md, "Reloading"): replay.concurrency takes effect at
// once; a key that needs a restart (backend.url) is warned about and kept; a file that does not
// validate changes nothing.

#include "replay_fixture.hpp"
#include "support/fake_backend.hpp"

#include <csignal>
#include <fstream>

namespace spillway::test::replay {
namespace {

class ReplayReloadTest : public ReplayTest {};

TEST_F(ReplayReloadTest, ConcurrencyChangesLiveAndBackendUrlNeedsARestart) {
    settings_.concurrency = 1;
    settings_.partitions = 1;
    start_environment(settings_);
    backend_->hold_after(0);  // every answer waits: the requests in flight stay in flight
    auto& replay = start_replay();
    std::vector<envelope::envelope> envelopes;
    for (int i = 0; i < 6; ++i) {
        envelopes.push_back(make_envelope("/api/users/" + std::to_string(i)));
    }
    produce_envelopes(broker_->bootstrap(), "failed-requests", envelopes);
    ASSERT_TRUE(backend_->wait_for_requests(1, 10s));

    fake_backend elsewhere;
    settings_.concurrency = 4;
    settings_.settings = {{"backend", {{"url", elsewhere.url()}}}};
    config_path();  // rewrites the file
    replay.signal(SIGHUP);
    // Three more requests go out while the first is still held: the new concurrency.
    EXPECT_TRUE(backend_->wait_for_requests(4, 10s)) << replay.stderr_text();
    EXPECT_TRUE(replay.wait_for_output("backend.url changed but need(s) a restart", 5s))
        << replay.stderr_text();
    EXPECT_EQ(elsewhere.request_count(), 0u);

    // A file that does not validate changes nothing.
    std::ofstream(*dir_ / "replay.json", std::ios::trunc) << R"({"replay": {"concurrency": 0}})";
    replay.signal(SIGHUP);
    EXPECT_TRUE(replay.wait_for_output("reload: configuration error", 5s)) << replay.stderr_text();
    EXPECT_TRUE(replay.wait_for_output("replay.concurrency", 5s));

    backend_->release();
    EXPECT_TRUE(backend_->wait_for_requests(6, 10s));
    EXPECT_TRUE(replay.running());
}

}  // namespace
}  // namespace spillway::test::replay
