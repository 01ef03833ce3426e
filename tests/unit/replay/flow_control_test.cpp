#include "spillway/replay/flow_control.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

using namespace std::chrono_literals;

TEST(PauseControl, PausesOnFirstReasonResumesWhenNoneLeft) {
    pause_control p;
    EXPECT_EQ(p.set(pause_reason::backend_down, true), pause_change::pause);
    EXPECT_EQ(p.set(pause_reason::backlog_full, true), pause_change::none);
    EXPECT_EQ(p.set(pause_reason::backend_down, false), pause_change::none)
        << "the backlog is still full";
    EXPECT_EQ(p.set(pause_reason::backlog_full, false), pause_change::resume);
    EXPECT_EQ(p.set(pause_reason::backlog_full, false), pause_change::none);
    EXPECT_FALSE(p.paused());
}

TEST(BackendGate, GoesDownOnceAndUpOnAnsweredProbe) {
    backend_gate g;
    EXPECT_EQ(g.on_connect_failure(), backend_gate::change::went_down);
    EXPECT_EQ(g.on_connect_failure(), backend_gate::change::none);
    EXPECT_EQ(g.on_probe(false), backend_gate::change::none);
    EXPECT_FALSE(g.up());
    EXPECT_EQ(g.on_probe(true), backend_gate::change::came_up);
    EXPECT_TRUE(g.up());
    EXPECT_EQ(g.on_answer(200), backend_gate::change::none);
}

TEST(BackendGate, AProbeThatFailsTakesItDown) {
    backend_gate g;
    EXPECT_EQ(g.on_probe(false), backend_gate::change::went_down);
    EXPECT_EQ(g.on_probe(false), backend_gate::change::none);
    EXPECT_EQ(g.on_probe(true), backend_gate::change::came_up);
}

TEST(BackendGate, AnOutageStatusNeverBringsItUpAnyOtherAnswerDoes) {
    backend_gate g;
    g.on_connect_failure();
    for (unsigned status : {502u, 503u, 504u}) {
        EXPECT_EQ(g.on_answer(status), backend_gate::change::none) << status;
        EXPECT_FALSE(g.up());
    }
    EXPECT_EQ(g.on_answer(500), backend_gate::change::came_up);
    EXPECT_EQ(g.on_answer(503), backend_gate::change::none) << "only a probe takes it down";
    EXPECT_TRUE(g.up());
}

TEST(ProbeVerdict, AnyAnswerButTheOutageStatusesIsUp) {
    for (unsigned status : {200u, 204u, 301u, 401u, 404u, 405u, 429u, 500u, 501u}) {
        EXPECT_TRUE(probe_says_up(status)) << status;
    }
    for (unsigned status : {502u, 503u, 504u}) {
        EXPECT_FALSE(probe_says_up(status)) << status;
    }
    EXPECT_FALSE(probe_says_up(std::nullopt)) << "no answer: down";
}

TEST(BacklogLimits, HysteresisBetweenHighAndLow) {
    backlog_limits l{10, 5};
    EXPECT_FALSE(l.full(9, false));
    EXPECT_TRUE(l.full(10, false));
    EXPECT_TRUE(l.full(6, true)) << "stays full until it drains to low";
    EXPECT_FALSE(l.full(5, true));
    EXPECT_GE(backlog_limits::for_concurrency(16).high, 16u);
}

}  // namespace
}  // namespace spillway::replay
