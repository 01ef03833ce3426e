#include "spillway/runtime/signals.hpp"

#include <gtest/gtest.h>

#include <thread>

#include <pthread.h>

namespace spillway::runtime {
namespace {

// SIGUSR1 and SIGUSR2, sent to this thread only: no other thread of the test process can be the
// one a signal is delivered to, whatever its mask.
void send_to_this_thread(int sig) {
    ASSERT_EQ(pthread_kill(pthread_self(), sig), 0);
}

TEST(SignalWaiter, ReturnsTheSignalThatArrived) {
    signal_waiter signals({SIGUSR1, SIGUSR2});
    send_to_this_thread(SIGUSR2);
    EXPECT_EQ(signals.wait(), SIGUSR2);
    send_to_this_thread(SIGUSR1);
    EXPECT_EQ(signals.wait(), SIGUSR1);
}

TEST(SignalWaiter, AnInterruptBeforeTheWaitEndsItAndEveryLaterOne) {
    signal_waiter signals({SIGUSR1});
    signals.interrupt();
    EXPECT_EQ(signals.wait(), 0);
    EXPECT_EQ(signals.wait(), 0);
}

TEST(SignalWaiter, AnInterruptFromAnotherThreadEndsTheWait) {
    signal_waiter signals({SIGUSR1});
    std::thread other([&signals] { signals.interrupt(); });
    EXPECT_EQ(signals.wait(), 0);
    other.join();
}

TEST(SignalWaiter, WaitForTerminationNamesTheSignalOrSaysItWasInterrupted) {
    signal_waiter signals({SIGUSR1});
    send_to_this_thread(SIGUSR1);
    EXPECT_EQ(wait_for_termination(signals), "SIGUSR1");
    signals.interrupt();
    EXPECT_EQ(wait_for_termination(signals), std::nullopt);
}

TEST(SignalName, NamesTheSignalsTheBinariesLog) {
    EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
    EXPECT_EQ(signal_name(SIGINT), "SIGINT");
    EXPECT_EQ(signal_name(SIGUSR2), "SIGUSR2");
    EXPECT_EQ(signal_name(1000), "signal 1000");
}

TEST(StopFlag, ASigpipeSetsTheFlagInsteadOfEndingTheProcess) {
    const auto& stop = stop_flag_on_signals();
    EXPECT_FALSE(stop);
    ASSERT_EQ(raise(SIGPIPE), 0);  // the handler has run when raise returns
    EXPECT_TRUE(stop);
}

}  // namespace
}  // namespace spillway::runtime
