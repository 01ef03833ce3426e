// A forged envelope cannot write into the replay's log (DESIGN.md: control characters escaped in
// every logged field that came from outside): an unknown failure.kind holding a newline, a
// forged log line and a terminal escape is logged escaped, on the line of its own warning.

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
    ASSERT_TRUE(backend_->wait_for_requests(1, 20s));
    ASSERT_TRUE(replay.wait_for_output("invalid envelope", 10s));
    const std::string err = replay.stderr_text();
    EXPECT_EQ(err.find(kind), std::string::npos) << "the forged kind was logged raw";
    EXPECT_EQ(err.find('\x1b'), std::string::npos) << "a terminal escape reached the log";
    std::istringstream lines(err);
    bool escaped_on_its_line = false;
    for (std::string line; std::getline(lines, line);) {
        EXPECT_NE(line.rfind("2026-01-01T00:00:00.000Z critical", 0), 0u)
            << "forged line: " << line;
        escaped_on_its_line =
            escaped_on_its_line ||
            (line.find("invalid envelope") != std::string::npos &&
             line.find("x\\n2026-01-01T00:00:00.000Z critical [replay] forged\\u001b[2J") !=
                 std::string::npos);
    }
    EXPECT_TRUE(escaped_on_its_line) << err;
}

}  // namespace
}  // namespace spillway::test::replay
