#include "spillway/replay/engine.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/core/text.hpp"
#include "spillway/replay/dead_letter.hpp"
#include "spillway/replay/sealed_values.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <variant>

namespace spillway::replay {

namespace {

// The lag monitor's period and its bound on each broker request: /ready notices a lost broker
// within about their sum, and a scrape sees a lag at most that old.
constexpr auto lag_interval = std::chrono::seconds(2);
constexpr auto kafka_check_timeout = std::chrono::seconds(2);

unsigned env_unsigned(const char* name, unsigned otherwise) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? static_cast<unsigned>(std::strtoul(v, nullptr, 10))
                                      : otherwise;
}

}  // namespace

engine::engine(net::io_context& ioc, const config::config& cfg,
               std::unique_ptr<kafka::producer> dlq)
    : ioc_(ioc),
      log_(runtime::logger("replay")),
      cfg_(cfg),
      dlq_(std::move(dlq)),
      client_(ioc.get_executor(), cfg.backend, std::max<std::size_t>(cfg.replay.concurrency, 1),
              cfg.replay.probe_path),
      watch_(ioc.get_executor(), client_, cfg, counters_,
             [this](bool up) {
                 if (up && pace_.adaptive()) {
                     pace_.on_outage_over();  // a ramp for a recovering backend
                     publish_limit();
                     log_->info(
                         "pacing: concurrency limit back to 1 after the outage, +1 per "
                         "round of good answers up to {}",
                         pace_.max());
                 }
                 set_pause(pause_reason::backend_down, !up);
             }),
      consumer_(ioc.get_executor(), cfg,
                rebalance_handlers{[this](const auto& p) { on_assigned(p); },
                                   [this](const auto& p) { on_revoked(p); }}),
      lag_(consumer_.handle(), cfg.kafka.topic, lag_interval, kafka_check_timeout),
      backoff_(cfg.replay.backoff_initial, cfg.replay.backoff_max),
      limiter_(cfg.replay.rate_limit),
      pace_(cfg.replay.concurrency, cfg.replay.adaptive),
      limits_(backlog_limits::for_concurrency(cfg.replay.concurrency)),
      idle_event_(ioc, netx::steady_timer::time_point::max()),
      dead_letters_(*dlq_, backoff_, counters_.dlq_produce_failures) {
    if (const char* uri = std::getenv("SPILLWAY_TEST_THROW_ON_URI"); uri != nullptr && *uri) {
        fault_uri_ = uri;
        faults_left_ = env_unsigned("SPILLWAY_TEST_THROW_TIMES", 1);
        log_->warn("test hook: replays of {} throw {} time(s) (SPILLWAY_TEST_THROW_ON_URI)",
                   core::log_escaped(fault_uri_), faults_left_);
    }
}

engine::~engine() = default;

netx::task<void> engine::run() {
    log_->info("replaying {} (group {}) to {}, concurrency {}{}", consumer_.topic(),
               cfg_.replay.group_id, cfg_.backend.url, cfg_.replay.concurrency,
               cfg_.replay.adaptive ? " (adaptive)" : "");
    publish_limit();
    lag_.start();
    // A backlog stuck full pauses well before the consumer would leave its group for not polling.
    limits_.stuck_after = std::min(limits_.stuck_after, consumer_.max_poll_interval() / 4);
    while (!stopping_) {
        // Poll until the queue is empty or the backlog is full; a full backlog leaves the rest
        // in librdkafka's bounded queue (flow_control.hpp says why that is not a pause).
        for (int n = 0; !stopping_; ++n) {
            if (backlog_full_since_ && !pause_.has(pause_reason::backlog_full)) {
                poll_held_ = true;
                break;
            }
            auto m = consumer_.poll();
            if (!m) {
                break;
            }
            on_message(std::move(*m));
            if (n % 256 == 255) {
                co_await net::post(
                    ioc_, net::use_awaitable_t<netx::executor>{});  // let the replays run too
            }
        }
        if (!stopping_) {
            update_backlog();  // a backlog full for too long pauses (and so polls again)
            co_await consumer_.wait(std::chrono::milliseconds{50});
        }
    }
    log_->info("stopping: {} in flight, {} waiting", in_flight_, backlog_.size());
    set_pause(pause_reason::stopping, true);
    counters_.abandoned += backlog_.size();
    backlog_.clear();
    counters_.backlog = 0;
    co_await wait_idle(std::chrono::steady_clock::now() + cfg_.shutdown_timeout);
    if (in_flight_ > 0) {
        // Whatever is still on the wire is abandoned: it stays uncommitted and is replayed later.
        client_.close_all();
        co_await wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds{5});
    }
    lag_.stop();  // its queries use the consumer's handle
    consumer_.close();
    dlq_->close(std::chrono::milliseconds{2000});
    log_->info("stopped: delivered {}, dead-lettered {}, abandoned {}", counters_.delivered.load(),
               counters_.dead_lettered.load(), counters_.abandoned.load());
}

void engine::stop() {
    if (stopping_) {
        return;
    }
    stopping_ = true;
    stopping_flag_ = true;
    consumer_.wake();
    watch_.stop();
    dead_letters_.stop();
    for (auto& [timer, partition] : sleepers_) {
        timer->cancel();
    }
}

void engine::on_message(fetched_message&& m) {
    auto ref = tracker_.start(m.partition, m.offset);
    if (!ref) {
        return;  // fetched just before its partition was revoked: the new owner has it
    }
    work w{std::move(m), *ref};
    if (in_flight_ < std::max(cfg_.replay.concurrency, 1u)) {
        launch(std::move(w));
    } else {
        backlog_.push_back(std::move(w));
        update_backlog();
    }
}

void engine::launch(work&& w) {
    ++in_flight_;
    counters_.in_flight = in_flight_;
    net::co_spawn(ioc_, handle(std::move(w)), net::detached);
}

void engine::launch_from_backlog() {
    while (!stopping_ && !backlog_.empty() && in_flight_ < cfg_.replay.concurrency) {
        auto next = std::move(backlog_.front());
        backlog_.pop_front();
        if (tracker_.current(next.ref)) {
            launch(std::move(next));
        }
    }
    update_backlog();
}

void engine::reload(const config::config& next) {
    cfg_.replay.rate_limit = next.replay.rate_limit;
    limiter_ = rate_limiter(next.replay.rate_limit);
    cfg_.replay.concurrency = next.replay.concurrency;
    const auto stuck_after = limits_.stuck_after;  // derived from the consumer, not the config
    limits_ = backlog_limits::for_concurrency(next.replay.concurrency);
    limits_.stuck_after = stuck_after;
    pace_.set_max(next.replay.concurrency);  // the adaptive limit stays within the new maximum
    publish_limit();
    wake_send_waiters();  // a larger maximum may free places at once
    launch_from_backlog();
    log_->info("reload: concurrency {}, rate limit {}", cfg_.replay.concurrency,
               cfg_.replay.rate_limit > 0 ? std::to_string(cfg_.replay.rate_limit) + "/s"
                                          : std::string("none"));
}

netx::task<void> engine::handle(work w) {
    const result r = co_await replay_guarded(w);
    if (r == result::finished) {
        if (auto next = tracker_.finish(w.ref)) {
            consumer_.store(w.ref.partition, *next);
        }
    } else {
        ++counters_.abandoned;
    }
    --in_flight_;
    launch_from_backlog();
    counters_.in_flight = in_flight_;
    if (in_flight_ == 0) {
        idle_event_.cancel();
    }
}

// Every message is finished: an exception out of a message's replay (a bug, memory exhausted) is
// counted, logged with the id, and the message replayed again after a backoff. One that still
// throws after replay.max_attempts tries is dead-lettered as it was read, with the reason, so that
// it can be redriven once the cause is fixed. (No co_await in a handler: C++ forbids it.)
netx::task<engine::result> engine::replay_guarded(const work& w) {
    const unsigned max_failures = std::max(cfg_.replay.max_attempts, 1u);
    for (unsigned failures = 1;; ++failures) {
        std::string what;
        try {
            const result r = co_await replay(w);
            co_return r;
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
            what = "unknown exception";
        }
        counters_.internal_errors.fetch_add(1, std::memory_order_relaxed);
        const bool give_up = failures >= max_failures;
        log_->error("{} ({}@{}): replay failed inside the consumer ({} of {}): {}; {}",
                    core::log_escaped(message_id(w.msg.value)), w.ref.partition, w.ref.offset,
                    failures, max_failures, core::log_escaped(what),
                    give_up ? "dead-lettering it" : "replaying it again");
        if (stopping_ || !tracker_.current(w.ref)) {
            co_return result::abandoned;
        }
        if (give_up) {
            const auto dead = co_await dead_letter_internal_error(w, what);
            if (dead) {
                co_return *dead;
            }
        }
        const bool slept = co_await sleep(backoff_.delay(failures), w.ref.partition);
        if (!slept || !tracker_.current(w.ref)) {
            co_return result::abandoned;
        }
    }
}

netx::task<std::optional<engine::result>> engine::dead_letter_internal_error(
    const work& w, const std::string& what) {
    bool threw = false;
    try {
        source_position from{consumer_.topic(), w.ref.partition, w.ref.offset, w.msg.key};
        envelope::dlq_info info{"internal error: " + what, std::nullopt, 0, core::now_rfc3339()};
        const auto rec = dead_letter_raw(w.msg.value, std::move(info), from, cfg_.replay.dlq_topic);
        const result r = co_await dead_letter(rec);
        co_return r;
    } catch (...) {
        threw = true;
    }
    if (threw) {
        counters_.internal_errors.fetch_add(1, std::memory_order_relaxed);
        log_->error("{}@{}: dead-lettering it failed inside the consumer too", w.ref.partition,
                    w.ref.offset);
    }
    co_return std::nullopt;
}

netx::task<engine::result> engine::replay(const work& w) {
    source_position from{consumer_.topic(), w.ref.partition, w.ref.offset, w.msg.key};
    auto parsed = envelope::parse_envelope(w.msg.value);
    if (auto* bad = std::get_if<envelope::parse_error>(&parsed)) {
        log_->warn("{}@{}: invalid envelope ({}): dead-lettered", w.ref.partition, w.ref.offset,
                   core::log_escaped(bad->reason));
        envelope::dlq_info info{"invalid envelope: " + bad->reason, std::nullopt, 0,
                                core::now_rfc3339()};
        auto rec = dead_letter_raw(w.msg.value, std::move(info), from, cfg_.replay.dlq_topic);
        auto r = co_await dead_letter(rec);
        co_return r;
    }
    auto env = std::get<envelope::envelope>(std::move(parsed));
    throw_if_fault_injected(env);
    auto built = build_request(env, client_.default_host(), cfg_.capture.idempotency_header);
    if (auto* req = std::get_if<outgoing_request>(&built)) {
        if (auto unopened = open_sealed_values(*req, env, cfg_.capture.keys.get())) {
            built = std::move(*unopened);  // dead-lettered below, still sealed
        }
    }
    if (auto* no = std::get_if<rejection>(&built)) {
        log_->warn("{} {}: {}: dead-lettered", env.id, core::log_escaped(env.uri),
                   core::log_escaped(no->reason));
        envelope::dlq_info info{no->reason, std::nullopt, env.attempts, core::now_rfc3339()};
        auto rec =
            dead_letter_envelope(std::move(env), std::move(info), from, cfg_.replay.dlq_topic);
        auto r = co_await dead_letter(rec);
        co_return r;
    }
    const auto req = std::get<outgoing_request>(std::move(built));
    replay_fsm fsm(cfg_.replay.max_attempts, backoff_, env.attempts);
    action a = fsm.start();
    auto sent_at = std::chrono::steady_clock::now();
    while (a.kind != action_kind::delivered && a.kind != action_kind::dead_letter) {
        if (stopping_ || !tracker_.current(w.ref)) {
            co_return result::abandoned;
        }
        std::optional<action> next = co_await step(fsm, a, req, w.ref, sent_at);
        if (!next) {
            co_return result::abandoned;
        }
        if (next->kind == action_kind::wait_backoff) {
            ++counters_.retried;
            log_->info("{} {}: attempt {} failed ({}), retrying in {} ms", env.id,
                       core::log_escaped(env.uri), next->attempt, core::log_escaped(next->reason),
                       next->delay.count());
        } else if (next->kind == action_kind::wait_backend && a.kind == action_kind::probe) {
            ++counters_.not_counted_outage;
            log_->info(
                "{} {}: attempt {} met an outage ({}): not counted, sent again when the "
                "backend is up",
                env.id, core::log_escaped(env.uri), a.attempt, core::log_escaped(next->reason));
        }
        a = std::move(*next);
    }
    if (a.kind == action_kind::delivered) {
        ++counters_.delivered;
        log_->debug("{} {}: delivered on attempt {}", env.id, core::log_escaped(env.uri),
                    a.attempt);
        co_return result::finished;
    }
    log_->warn("{} {}: {}: dead-lettered", env.id, core::log_escaped(env.uri),
               core::log_escaped(a.reason));
    envelope::dlq_info info{a.reason, a.last_status, a.attempt, core::now_rfc3339()};
    auto rec = dead_letter_envelope(std::move(env), std::move(info), from, cfg_.replay.dlq_topic);
    auto r = co_await dead_letter(rec);
    co_return r;
}

netx::task<std::optional<action>> engine::step(replay_fsm& fsm, const action& a,
                                               const outgoing_request& req, const message_ref& ref,
                                               std::chrono::steady_clock::time_point& sent_at) {
    if (a.kind == action_kind::wait_backoff) {
        const bool slept = co_await sleep(a.delay, ref.partition);
        co_return slept ? std::optional<action>(fsm.on_backoff_elapsed()) : std::nullopt;
    }
    if (a.kind == action_kind::probe) {
        const bool up = co_await watch_.confirm(sent_at);
        co_return fsm.on_probe(up);
    }
    if (a.kind == action_kind::wait_backend) {
        if (a.delay.count() > 0) {  // a Retry-After that came with the outage
            const bool slept = co_await sleep(a.delay, ref.partition);
            if (!slept) {
                co_return std::nullopt;
            }
        }
        const bool up = co_await wait_backend(ref);
        co_return up ? std::optional<action>(fsm.on_backend_up()) : std::nullopt;
    }
    // action_kind::send
    if (!watch_.up()) {
        const bool up = co_await wait_backend(ref);
        if (!up) {
            co_return std::nullopt;
        }
    }
    // A place on the wire first (adaptive pacing), then the rate limit, then the exchange. The
    // place is given back by hand, not by a destructor: a frame destroyed with the io_context
    // after the engine must not touch it.
    const bool placed = co_await take_send_slot(ref);
    if (!placed) {
        co_return std::nullopt;
    }
    std::optional<send_result> sent;
    std::exception_ptr failure;
    try {
        sent = co_await send_paced(req, a.attempt, ref, sent_at);
    } catch (...) {
        failure = std::current_exception();
    }
    release_send_slot();
    if (failure) {
        std::rethrow_exception(failure);
    }
    if (!sent) {
        co_return std::nullopt;
    }
    switch (sent->outcome) {
        case send_result::kind::response:
            watch_.on_answer(sent->status);
            co_return fsm.on_response(sent->status, sent->retry_after);
        case send_result::kind::connect_failed:
            counters_.not_counted_connect.fetch_add(1, std::memory_order_relaxed);
            watch_.on_connect_failure(sent->detail);
            co_return fsm.on_connect_failure();
        case send_result::kind::transport_failed:
            co_return fsm.on_transport_failure(sent->detail);
        case send_result::kind::aborted:
            break;
    }
    co_return std::nullopt;
}

netx::task<std::optional<send_result>> engine::send_paced(
    const outgoing_request& req, unsigned attempt, const message_ref& ref,
    std::chrono::steady_clock::time_point& sent_at) {
    auto delay = limiter_.acquire(std::chrono::steady_clock::now());
    if (delay.count() > 0) {
        const bool slept = co_await sleep(delay, ref.partition);
        if (!slept || !tracker_.current(ref)) {
            co_return std::nullopt;
        }
    }
    sent_at = std::chrono::steady_clock::now();
    const auto ticket = pace_.on_send();
    exchange_cancel cancel;
    const auto registered = exchanges_.emplace(ref.partition, &cancel);
    auto sent = co_await client_.send(req, attempt, &cancel);
    exchanges_.erase(registered);
    if (cancel.cancelled()) {
        counters_.exchanges_cancelled.fetch_add(1, std::memory_order_relaxed);
        co_return std::nullopt;  // its partition was revoked: the new owner replays it
    }
    const auto now = std::chrono::steady_clock::now();
    if (sent.outcome == send_result::kind::response ||
        sent.outcome == send_result::kind::transport_failed) {
        counters_.attempts.fetch_add(1, std::memory_order_relaxed);
        counters_.attempt_duration.observe(now - sent_at);
    }
    const unsigned before = pace_.value();
    if (sent.outcome == send_result::kind::response) {
        pace_.on_answer(ticket, sent.status, now - sent_at, now);
    } else if (sent.timed_out) {
        pace_.on_timeout(ticket);
    }
    if (pace_.value() != before) {
        log_->debug("pacing: concurrency limit {} -> {} ({} after {} ms)", before, pace_.value(),
                    sent.outcome == send_result::kind::response
                        ? "an answer " + std::to_string(sent.status)
                        : std::string("a response timeout"),
                    std::chrono::duration_cast<std::chrono::milliseconds>(now - sent_at).count());
        publish_limit();
    }
    co_return sent;
}

netx::task<engine::result> engine::dead_letter(const kafka::record& rec) {
    // The original's offset counts only once the dead-letter topic has acknowledged a copy.
    // (co_await in a condition miscompiles with GCC 12: keep the result in a local.)
    auto sent = co_await dead_letters_.send(rec);
    if (sent.outcome == dead_letter_result::kind::refused) {
        // Refused for good (too large for the topic, say): a copy without the body keeps the
        // partition moving and says where the whole record is (docs/replay.md, "Dead letters").
        const auto reduced = reduced_dead_letter(rec, sent.error.message());
        for (unsigned round = 1; sent.outcome == dead_letter_result::kind::refused; ++round) {
            sent = co_await dead_letters_.send(reduced);
            if (sent.outcome == dead_letter_result::kind::refused) {
                const bool slept = co_await sleep(backoff_.delay(round));
                if (!slept) {
                    co_return result::abandoned;
                }
            }
        }
        if (sent.outcome == dead_letter_result::kind::acknowledged) {
            ++counters_.dlq_reduced;
        }
    }
    if (sent.outcome != dead_letter_result::kind::acknowledged) {
        co_return result::abandoned;
    }
    ++counters_.dead_lettered;
    co_return result::finished;
}

netx::task<bool> engine::sleep(std::chrono::steady_clock::duration d, std::int32_t partition) {
    netx::steady_timer timer(ioc_, d);
    sleepers_.emplace(&timer, partition);
    co_await timer.async_wait(netx::use_task);
    sleepers_.erase(&timer);
    co_return !stopping_;
}

netx::task<bool> engine::wait_backend(const message_ref& ref) {
    const bool up =
        co_await watch_.wait_up([this, ref] { return !stopping_ && tracker_.current(ref); });
    co_return up;
}

netx::task<bool> engine::take_send_slot(const message_ref& ref) {
    while (on_wire_ >= pace_.value()) {
        netx::steady_timer timer(ioc_, netx::steady_timer::time_point::max());
        sleepers_.emplace(&timer, ref.partition);  // so stop() and a revoke end the wait
        send_waiters_.push_back(&timer);
        co_await timer.async_wait(netx::use_task);
        sleepers_.erase(&timer);
        std::erase(send_waiters_, &timer);  // still queued when stop() or a revoke woke it
        if (stopping_ || !tracker_.current(ref)) {
            // A release may have handed this waiter a free place (popped it) before the revoke
            // or stop() reached it: pass that place on, or the waiters behind it would wait
            // for a release that never comes.
            wake_send_waiters();
            co_return false;
        }
    }
    ++on_wire_;
    co_return true;
}

void engine::release_send_slot() {
    --on_wire_;
    wake_send_waiters();
}

void engine::wake_send_waiters() {
    // A woken waiter looks again when it runs; one that finds the place taken queues again.
    for (auto free = pace_.value() - std::min<std::size_t>(on_wire_, pace_.value());
         free > 0 && !send_waiters_.empty(); --free) {
        send_waiters_.front()->cancel();
        send_waiters_.pop_front();
    }
}

void engine::throw_if_fault_injected(const envelope::envelope& env) {
    if (faults_left_ > 0 && env.uri == fault_uri_) {
        --faults_left_;
        throw std::runtime_error("injected fault (SPILLWAY_TEST_THROW_ON_URI)");
    }
}

netx::task<void> engine::wait_idle(std::chrono::steady_clock::time_point deadline) {
    while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
        idle_event_.expires_at(deadline);
        co_await idle_event_.async_wait(netx::use_task);
    }
}

void engine::set_pause(pause_reason reason, bool active) {
    const auto change = pause_.set(reason, active);
    counters_.paused_backend_down = pause_.has(pause_reason::backend_down);
    counters_.paused_backlog_full = pause_.has(pause_reason::backlog_full);
    switch (change) {
        case pause_change::pause:
            consumer_.set_paused(true);
            break;
        case pause_change::resume:
            consumer_.set_paused(false);
            // The poll loop may be waiting on an empty queue; the refetch must not wait for its
            // timeout.
            consumer_.wake();
            break;
        case pause_change::none:
            break;
    }
}

void engine::update_backlog() {
    counters_.backlog.store(backlog_.size(), std::memory_order_relaxed);
    const bool full = limits_.full(backlog_.size(), backlog_full_since_.has_value());
    if (!full) {
        backlog_full_since_.reset();
        set_pause(pause_reason::backlog_full, false);
        if (poll_held_) {
            poll_held_ = false;
            consumer_.wake();
        }
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!backlog_full_since_) {
        backlog_full_since_ = now;
    } else if (now - *backlog_full_since_ >= limits_.stuck_after) {
        set_pause(pause_reason::backlog_full, true);
    }
}

std::optional<std::string> engine::readiness() const {
    if (stopping_flag_) {
        return "stopping";
    }
    return lag_.readiness();
}

void engine::publish_limit() {
    counters_.concurrency_limit.store(pace_.value(), std::memory_order_relaxed);
}

void engine::on_assigned(const std::vector<std::int32_t>& parts) {
    for (auto p : parts) {
        tracker_.assign(p);
    }
    counters_.assigned_partitions.fetch_add(parts.size(), std::memory_order_relaxed);
}

void engine::on_revoked(const std::vector<std::int32_t>& parts) {
    for (auto p : parts) {
        tracker_.revoke(p);
    }
    counters_.assigned_partitions.fetch_sub(parts.size(), std::memory_order_relaxed);
    // Waiting messages of those partitions belong to their new owner now.
    std::erase_if(backlog_, [this](const work& w) { return !tracker_.current(w.ref); });
    update_backlog();
    // So do their messages in flight: requests on the wire are cancelled (the new owner must not
    // find the same key on the wire), backoffs end, waits for the backend look again.
    for (auto p : parts) {
        const auto [first, last] = exchanges_.equal_range(p);
        for (auto it = first; it != last; ++it) {
            it->second->cancel();
        }
    }
    for (auto& [timer, partition] : sleepers_) {
        if (std::find(parts.begin(), parts.end(), partition) != parts.end()) {
            timer->cancel();
        }
    }
    watch_.wake();
}

}  // namespace spillway::replay
