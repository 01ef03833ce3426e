#include "spillway/replay/backend_watch.hpp"

#include "spillway/core/text.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace spillway::replay {

namespace {

std::string describe(const probe_result& r) {
    return r.status ? "status " + std::to_string(*r.status) : r.detail;
}

}  // namespace

backend_watch::backend_watch(netx::executor ex, backend_client& client, const config::config& cfg,
                             replay_counters& counters, std::function<void(bool)> on_change)
    : ex_(ex),
      client_(client),
      url_(cfg.backend.url),
      probe_path_(cfg.replay.probe_path),
      interval_(cfg.replay.probe_interval),
      counters_(counters),
      on_change_(std::move(on_change)),
      log_(runtime::logger("replay")),
      changed_(ex, netx::steady_timer::time_point::max()),
      probe_done_(ex, netx::steady_timer::time_point::max()),
      interval_timer_(ex) {}

void backend_watch::on_connect_failure(const std::string& detail) {
    if (gate_.on_connect_failure() == backend_gate::change::went_down) {
        went_down(detail);
    }
}

void backend_watch::on_answer(unsigned status) {
    if (gate_.on_answer(status) == backend_gate::change::came_up) {
        came_up("an attempt was answered " + std::to_string(status));
    }
}

netx::task<bool> backend_watch::confirm(std::chrono::steady_clock::time_point sent_at) {
    while (probe_running_ && !stopped_) {
        co_await probe_done_.async_wait(netx::use_task);
    }
    if (!gate_.up()) {
        co_return false;  // the outage is known already: this attempt met it too
    }
    if (last_ && last_->started >= sent_at) {
        co_return last_->up;  // a probe sent after this attempt has spoken
    }
    const auto r = co_await probe();
    const bool up = probe_says_up(r.status);
    if (!up && gate_.on_probe(false) == backend_gate::change::went_down) {
        went_down("an attempt met an outage, and the probe got " + describe(r));
    }
    co_return gate_.up();
}

netx::task<bool> backend_watch::wait_up(std::function<bool()> keep_waiting) {
    while (!gate_.up() && !stopped_ && keep_waiting()) {
        co_await changed_.async_wait(netx::use_task);
    }
    co_return gate_.up() && !stopped_ && keep_waiting();
}

void backend_watch::wake() {
    changed_.cancel();
}

void backend_watch::stop() {
    stopped_ = true;
    interval_timer_.cancel();
    probe_done_.cancel();
    changed_.cancel();
}

netx::task<probe_result> backend_watch::probe() {
    probe_running_ = true;
    const auto started = std::chrono::steady_clock::now();
    auto r = co_await client_.probe();
    const bool up = probe_says_up(r.status);
    (up ? counters_.probes_up : counters_.probes_down).fetch_add(1, std::memory_order_relaxed);
    last_ = verdict{started, up};
    probe_running_ = false;
    probe_done_.cancel();
    co_return r;
}

netx::task<void> backend_watch::probe_loop() {
    while (!gate_.up() && !stopped_) {
        interval_timer_.expires_after(interval_);
        co_await interval_timer_.async_wait(netx::use_task);
        if (stopped_ || gate_.up()) {
            break;
        }
        const auto r = co_await probe();
        if (!probe_says_up(r.status)) {
            log_->debug("probe: backend still down ({})", core::log_escaped(describe(r)));
            continue;
        }
        if (gate_.on_probe(true) == backend_gate::change::came_up) {
            came_up("the probe got " + describe(r));
        }
    }
    probing_ = false;
}

void backend_watch::went_down(const std::string& why) {
    ++counters_.backend_outages;
    counters_.backend_down = true;
    log_->warn("backend {} is down ({}): fetching paused, probing {} every {} ms", url_,
               core::log_escaped(why), core::log_escaped(probe_path_), interval_.count());
    on_change_(false);
    if (!probing_ && !stopped_) {
        probing_ = true;
        net::co_spawn(ex_, probe_loop(), net::detached);
    }
}

void backend_watch::came_up(const std::string& why) {
    counters_.backend_down = false;
    log_->info("backend {} answers again ({}): resuming", url_, why);
    on_change_(true);
    changed_.cancel();
}

}  // namespace spillway::replay
