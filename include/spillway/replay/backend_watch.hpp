#pragma once
// Whether the backend is down, found out by I/O as backend_gate (flow_control.hpp) decides it.
//
// A connect failure takes the backend down at once. A 502, 503, 504, a reset or a timeout only
// asks for a probe (confirm()): an HTTP request to replay.probe_path, whose answer is "up" unless
// it is 502, 503 or 504 or there is none. Attempts that meet the same outage share one probe: an
// attempt sent before a probe started takes that probe's verdict. While the backend is down it is
// probed every replay.probe_interval_ms until a probe finds it up; the owner hears of every
// change (to pause or resume its partitions) and waiters of wait_up() are woken.

#include "spillway/config/config.hpp"
#include "spillway/net/task.hpp"
#include "spillway/replay/backend_client.hpp"
#include "spillway/replay/flow_control.hpp"
#include "spillway/replay/replay_counters.hpp"

#include <spdlog/logger.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace spillway::replay {

class backend_watch {
public:
    // `on_change(up)` is called on every change. All references must outlive the watch; runs on
    // `ex` (the engine's thread).
    backend_watch(netx::executor ex, backend_client& client, const config::config& cfg,
                  replay_counters& counters, std::function<void(bool up)> on_change);

    bool up() const { return gate_.up(); }

    void on_connect_failure(const std::string& detail);
    // A status answered to an attempt.
    void on_answer(unsigned status);

    // An attempt sent at `sent_at` met what an outage also causes: whether the backend is up,
    // by a probe started after `sent_at` (this one's, or one already on its way).
    netx::task<bool> confirm(std::chrono::steady_clock::time_point sent_at);

    // Until the backend is up (true) or `keep_waiting` says no more (false), checked whenever
    // something changes or wake() is called.
    netx::task<bool> wait_up(std::function<bool()> keep_waiting);
    void wake();

    // Ends the probing and wakes every waiter.
    void stop();

private:
    struct verdict {
        std::chrono::steady_clock::time_point started;
        bool up = false;
    };

    netx::task<probe_result> probe();
    netx::task<void> probe_loop();
    void went_down(const std::string& why);
    void came_up(const std::string& why);

    netx::executor ex_;
    backend_client& client_;
    const std::string url_;
    const std::string probe_path_;
    const std::chrono::milliseconds interval_;
    replay_counters& counters_;
    std::function<void(bool)> on_change_;
    std::shared_ptr<spdlog::logger> log_;
    backend_gate gate_;
    std::optional<verdict> last_;  // of the last probe that finished
    bool probe_running_ = false;
    bool probing_ = false;  // probe_loop() runs
    bool stopped_ = false;
    netx::steady_timer changed_;  // cancelled to wake wait_up()
    netx::steady_timer probe_done_;  // cancelled when a probe finishes
    netx::steady_timer interval_timer_;  // between probes; cancelled by stop()
};

}  // namespace spillway::replay
