// spillway-ctl: the operator's tool for the queue (DESIGN.md, "Operating the queue";
// docs/operations.md). It reads the deployment's configuration file for Kafka, the topics and the
// replay group, and never sends a request to the backend.
//
//   spillway-ctl [--config FILE] COMMAND [options]

#include "spillway/ctl/commands.hpp"
#include "spillway/ctl/topic_scan.hpp"
#include "spillway/replay/tail.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/exit_status.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"

#include <iostream>

namespace {

using namespace spillway;

const runtime::program_info info{
    "spillway-ctl",
    "operates the queue: tail, find, stats, redrive (spillway-ctl --help lists the commands)",
    {}};

// Where the global options end and the command begins: the first word that is no option (the
// value of --config is one of the options).
int command_index(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--config") {
            ++i;
        } else if (arg.rfind("--", 0) != 0) {
            return i;
        }
    }
    return argc;
}

int tail(const config::config& cfg, const ctl::ctl_request& request) {
    replay::tail_options options;
    options.format = request.format;
    options.from_beginning = request.from_beginning;
    options.topic = request.topic.value_or("");
    if (!ctl::filters_nothing(request.filter)) {
        options.keep = [filter = request.filter](std::string_view value) {
            const auto parsed = envelope::parse_envelope(value);
            const auto* e = std::get_if<envelope::envelope>(&parsed);
            return e != nullptr && ctl::matches(filter, *e);
        };
    }
    return replay::run_tail(cfg, options, std::cout, runtime::stop_flag_on_signals());
}

int run(const config::config& cfg, const ctl::ctl_request& request) {
    const ctl::command_context ctx{cfg, std::cout, std::cerr};
    try {
        switch (request.command) {
            case ctl::ctl_command::tail:
                return tail(cfg, request);
            case ctl::ctl_command::find:
                return ctl::run_find(ctx, request.id);
            case ctl::ctl_command::stats:
                return ctl::run_stats(ctx);
            case ctl::ctl_command::redrive:
                return ctl::run_redrive(ctx, request);
        }
    } catch (const ctl::kafka_unavailable& e) {
        std::cerr << "spillway-ctl: Kafka at " << cfg.kafka.brokers << ": " << e.what() << '\n';
    }
    return runtime::exit_failure;
}

}  // namespace

int main(int argc, char** argv) {
    const int at = command_index(argc, argv);
    for (int i = 1; i < at; ++i) {
        if (std::string_view(argv[i]) == "--help") {
            std::cout << "usage: spillway-ctl [--config FILE] COMMAND [options]\n\n"
                      << ctl::ctl_usage << '\n';
            std::cout.flush();
            runtime::parse_command_line(at, argv, info);  // its own --help, then exit 0
        }
    }
    const auto request = ctl::parse_ctl_args(std::vector<std::string>(argv + at, argv + argc));
    if (const auto* error = std::get_if<ctl::usage_error>(&request)) {
        std::cerr << "spillway-ctl: " << error->message << '\n';
        return runtime::exit_config_error;
    }
    // The global options only: --config, --check-config, --version.
    const auto cli = runtime::parse_command_line(at, argv, info);
    auto log_settings = cli.cfg.log;
    log_settings.level = "warn";  // the tool's output is its answer; librdkafka's chatter is not
    runtime::setup_logging(log_settings);
    return runtime::run_guarded("ctl",
                                [&] { return run(cli.cfg, std::get<ctl::ctl_request>(request)); });
}
