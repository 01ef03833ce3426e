// spillway-replay: replays the requests queued in kafka.topic to backend.url (DESIGN.md,
// "The replay consumer"; docs/replay.md), or with --tail shows them to an operator.

#include "spillway/admin/admin_server.hpp"
#include "spillway/config/config_diff.hpp"
#include "spillway/core/seal.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/replay/engine.hpp"
#include "spillway/replay/replay_metrics.hpp"
#include "spillway/replay/tail.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/exit_status.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"
#include "spillway/upstream/tls_client_context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

namespace {

using namespace spillway;
namespace net = boost::asio;

int tail(const runtime::cli_result& cli) {
    replay::tail_options options;
    options.from_beginning = cli.has("--from-beginning");
    if (cli.has("--format")) {
        auto format = replay::tail_format_from_string(cli.flags.at("--format"));
        if (!format) {
            std::cerr << "spillway-replay: --format: expected text, json or curl\n";
            return runtime::exit_config_error;
        }
        options.format = *format;
    }
    return replay::run_tail(cli.cfg, options, std::cout, runtime::stop_flag_on_signals());
}

// SIGHUP (docs/replay.md, "Reloading"): what the replay can change live goes to the engine on its
// thread; what needs a restart is said in a warning and keeps its value.
class replay_reloader {
public:
    explicit replay_reloader(const config::config& cfg)
        : running_(std::make_shared<const config::config>(cfg)) {}

    void reload(const runtime::cli_result& cli, net::io_context& ioc, replay::engine& engine) {
        const auto log = runtime::logger("replay");
        config::reload_plan plan;
        try {
            plan = config::plan_reload(*running_, runtime::reload_configuration(cli),
                                       config::replay_key_class);
        } catch (const config::config_error& e) {
            ++failed_;
            log->error("reload: configuration error: {}; nothing changed", e.what());
            return;
        }
        ++ok_;
        if (!plan.ignored.empty()) {
            log->warn(
                "reload: {} changed but need(s) a restart of spillway-replay; the running "
                "value(s) stay",
                config::join_keys(plan.ignored));
        }
        if (!plan.changes_anything()) {
            log->info("reload: nothing to change");
            return;
        }
        auto next = std::make_shared<const config::config>(std::move(plan.effective));
        if (next->log.level != running_->log.level) {
            runtime::set_log_level(next->log.level);
        }
        log->info("reload: {} changed", config::join_keys(plan.applied));
        net::post(ioc, [&engine, next] { engine.reload(*next); });
        running_ = std::move(next);
    }

    void write_metrics(metrics::exposition& out) const {
        out.family("spillway_config_reloads_total", "counter",
                   "Configuration reloads (SIGHUP): ok, or error when the file did not validate "
                   "and nothing changed.");
        out.sample("spillway_config_reloads_total", {{"result", "ok"}},
                   static_cast<double>(ok_.load()));
        out.sample("spillway_config_reloads_total", {{"result", "error"}},
                   static_cast<double>(failed_.load()));
    }

private:
    std::shared_ptr<const config::config> running_;
    std::atomic<std::uint64_t> ok_{0};
    std::atomic<std::uint64_t> failed_{0};
};

// The engine runs on a thread of its own; this (main) thread waits for SIGTERM or SIGINT (or
// SIGHUP: a reload), or for the engine to end by itself (a failure), like every other daemon's
// main thread.
int replay_until_signalled(const runtime::cli_result& cli) {
    const auto& cfg = cli.cfg;
    upstream::prepare_backend_tls(cfg.backend);  // a CA file that does not load: exit 2
    // Before librdkafka and the admin listener start threads.
    runtime::signal_waiter signals({SIGTERM, SIGINT, SIGHUP});
    replay_reloader reloader(cfg);
    net::io_context ioc(1);
    auto engine = std::make_unique<replay::engine>(
        ioc, cfg, kafka::make_producer(replay::dead_letter_producer_config(cfg)));
    runtime::logger("replay")->info("sealed values open with key ids: {} (docs/sealing.md)",
                                    cfg.capture.keys ? cfg.capture.keys->describe() : "none");

    // The admin listener runs on its own thread and reads the engine's atomics and the lag
    // monitor's snapshots; it is stopped before the engine goes away.
    metrics::registry metrics;
    replay::register_replay_metrics(metrics, *engine);
    metrics.add([&reloader](metrics::exposition& out) { reloader.write_metrics(out); });
    admin::admin_server admin_listener(admin::admin_address(cfg, 9902), metrics,
                                       [&engine] { return engine->readiness(); });
    if (!admin::start_admin(admin_listener, cfg)) {
        return runtime::exit_failure;
    }

    int status = runtime::exit_ok;
    net::co_spawn(ioc, engine->run(), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                runtime::logger("replay")->critical("replay failed: {}", ex.what());
            }
            status = runtime::exit_failure;
        }
        ioc.stop();
        signals.interrupt();
    });
    std::thread loop([&ioc] { ioc.run(); });
    for (int sig = signals.wait(); sig != 0; sig = signals.wait()) {
        if (sig == SIGHUP) {
            reloader.reload(cli, ioc, *engine);
            continue;
        }
        runtime::logger("replay")->info("received {}, stopping", runtime::signal_name(sig));
        net::post(ioc, [&engine] { engine->stop(); });
        break;
    }
    loop.join();
    admin_listener.stop();
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway-replay",
        "replays the requests queued in Kafka to the backend, at least once",
        {{"--tail", "", "print queued envelopes (text, json or curl) instead of replaying"},
         {"--from-beginning", "", "with --tail: start at the oldest queued envelope"},
         {"--format", "FORMAT", "with --tail: text (default), json or curl"}}};
    const auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    return runtime::run_guarded(
        "replay", [&] { return cli.has("--tail") ? tail(cli) : replay_until_signalled(cli); });
}
