// spillway-replay: replays the requests queued in kafka.topic to backend.url (DESIGN.md,
// "The replay consumer"; docs/replay.md), or with --tail shows them to an operator.

#include "spillway/admin/admin_server.hpp"
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

#include <iostream>
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

// The engine runs on a thread of its own; this (main) thread waits for SIGTERM or SIGINT, or
// for the engine to end by itself (a failure), like every other daemon's main thread.
int replay_until_signalled(const config::config& cfg) {
    upstream::prepare_backend_tls(cfg.backend);  // a CA file that does not load: exit 2
    runtime::signal_waiter signals;  // before librdkafka and the admin listener start threads
    net::io_context ioc(1);
    auto engine = std::make_unique<replay::engine>(
        ioc, cfg, kafka::make_producer(replay::dead_letter_producer_config(cfg)));
    runtime::logger("replay")->info("sealed values open with key ids: {} (docs/sealing.md)",
                                    cfg.capture.keys ? cfg.capture.keys->describe() : "none");

    // The admin listener runs on its own thread and reads the engine's atomics and the lag
    // monitor's snapshots; it is stopped before the engine goes away.
    metrics::registry metrics;
    replay::register_replay_metrics(metrics, *engine);
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
    if (const auto sig = runtime::wait_for_termination(signals)) {
        runtime::logger("replay")->info("received {}, stopping", *sig);
        net::post(ioc, [&engine] { engine->stop(); });
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
        "replay", [&] { return cli.has("--tail") ? tail(cli) : replay_until_signalled(cli.cfg); });
}
