// A forged envelope cannot write into the replay's log (DESIGN.md: control characters escaped in
// every logged field that came from outside): an unknown failure.kind holding a newline, a
// forged log line and a terminal escape never reaches the log raw. failure is information
// (DESIGN.md "The envelope"), so the forged envelope is replayed, not dead-lettered.

#include "replay_fixture.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace spillway::test::replay {
namespace {

TEST_F(ReplayTest, ForgedFailureKindIsLoggedEscaped) {
    start_environment({.partitions = 1});
    auto forged = nlohmann::json::parse(envelope::to_json(make_envelope()));
    const std::string kind = "x\n2026-01-01T00:00:00.000Z critical [replay] forged\x1b[2J";
    forged["failure"]["kind"] = kind;
    auto good = make_envelope("/api/after-the-forged-one");
    produce(broker_->bootstrap(), "failed-requests",
            {{"k1", forged.dump()}, {"k2", envelope::to_json(good)}});
    auto& replay = start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(2, 20s)) << replay.stderr_text();
    const std::string err = replay.stderr_text();
    EXPECT_EQ(err.find(kind), std::string::npos) << "the forged kind was logged raw";
    EXPECT_EQ(err.find('\x1b'), std::string::npos) << "a terminal escape reached the log";
    std::istringstream lines(err);
    for (std::string line; std::getline(lines, line);) {
        EXPECT_NE(line.rfind("2026-01-01T00:00:00.000Z critical", 0), 0u)
            << "forged line: " << line;
    }
}

}  // namespace
}  // namespace spillway::test::replay
