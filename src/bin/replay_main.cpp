// spillway-replay: replays the requests queued in kafka.topic to backend.url (DESIGN.md,
// "The replay consumer"; docs/replay.md), or with --tail shows them to an operator.

#include "spillway/admin/admin_server.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/replay/engine.hpp"
#include "spillway/replay/replay_metrics.hpp"
#include "spillway/replay/tail.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <csignal>
#include <iostream>

namespace {

using namespace spillway;
namespace net = boost::asio;

std::atomic<bool> tail_stop{false};

extern "C" void on_tail_signal(int) {
    tail_stop = true;
}

int tail(const runtime::cli_result& cli) {
    replay::tail_options options;
    options.from_beginning = cli.has("--from-beginning");
    if (cli.has("--format")) {
        auto format = replay::tail_format_from_string(cli.flags.at("--format"));
        if (!format) {
            std::cerr << "spillway-replay: --format: expected text, json or curl\n";
            return 2;
        }
        options.format = *format;
    }
    std::signal(SIGTERM, on_tail_signal);
    std::signal(SIGINT, on_tail_signal);
    std::signal(SIGPIPE, on_tail_signal);  // `| head` ends the tail quietly
    return replay::run_tail(cli.cfg, options, std::cout, tail_stop);
}

int replay_until_signalled(const config::config& cfg) {
    net::io_context ioc(1);
    std::unique_ptr<replay::engine> engine;
    engine = std::make_unique<replay::engine>(ioc, cfg, kafka::make_producer(cfg.kafka));

    // The admin listener runs on its own thread and reads the engine's atomics and the lag
    // monitor's snapshots; it is stopped before the engine goes away.
    metrics::registry metrics;
    replay::register_replay_metrics(metrics, *engine);
    admin::admin_server admin_listener(admin::admin_address(cfg, 9902), metrics,
                                       [&engine] { return engine->readiness(); });
    if (!admin::start_admin(admin_listener, cfg)) {
        return 1;
    }

    net::signal_set signals(ioc, SIGTERM, SIGINT);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (!ec) {
            runtime::logger("replay")->info("signal {}: stopping", sig);
            engine->stop();
        }
    });
    int status = 0;
    net::co_spawn(ioc, engine->run(), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                runtime::logger("replay")->critical("replay failed: {}", ex.what());
            }
            status = 1;
        }
        signals.cancel();
        ioc.stop();
    });
    ioc.run();
    admin_listener.stop();
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    runtime::program_info info{
        "spillway-replay",
        "replays the requests queued in Kafka to the backend, at least once",
        {{"--tail", "", "print queued envelopes (text, json or curl) instead of replaying"},
         {"--from-beginning", "", "with --tail: start at the oldest queued envelope"},
         {"--format", "FORMAT", "with --tail: text (default), json or curl"}}};
    auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    try {
        return cli.has("--tail") ? tail(cli) : replay_until_signalled(cli.cfg);
    } catch (const std::exception& e) {
        // Start-up only: the data path reports errors as values.
        std::cerr << "spillway-replay: " << e.what() << "\n";
        return 2;
    }
}
