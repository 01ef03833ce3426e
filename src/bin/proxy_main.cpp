// spillway: the proxy daemon.
#include "spillway/daemon/proxy_daemon.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"

#include <csignal>
#include <exception>

namespace {

using namespace spillway;

int run(const config::config& cfg, const sigset_t& signals) {
    daemon::proxy_daemon proxy(cfg);
    if (!proxy.start()) {
        return 1;
    }
    int sig = 0;
    sigwait(&signals, &sig);
    runtime::logger("proxy")->info("received {}, shutting down (up to {} ms for in-flight requests)",
                                   sig == SIGTERM ? "SIGTERM" : "SIGINT",
                                   cfg.shutdown_timeout.count());
    proxy.stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway",
        "fault-tolerant HTTP reverse proxy: what the backend cannot take is stored in Kafka",
        {}};
    auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    const auto signals = runtime::block_termination_signals();
    int status = 1;
    try {
        status = run(cli.cfg, signals);
    } catch (const std::exception& e) {
        runtime::logger("proxy")->critical("cannot start: {}", e.what());
    }
    spdlog::shutdown();
    return status;
}
