// spillway: the proxy daemon.
#include "spillway/proxy/server.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/logging.hpp"

#include <csignal>
#include <iostream>
#include <system_error>

int main(int argc, char** argv) {
    using namespace spillway;
    const runtime::program_info info{
        "spillway",
        "fault-tolerant HTTP reverse proxy: what the backend cannot take is stored in Kafka",
        {}};
    auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    auto log = runtime::logger("proxy");

    // Termination signals are taken synchronously by this thread (sigwait); every worker thread
    // inherits the blocked mask, so no handler ever runs on an I/O thread.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    proxy::gateway_error_handler failure_handler;
    proxy::server server(cli.cfg, failure_handler, false);
    try {
        server.start();
    } catch (const std::system_error& e) {
        log->critical("cannot listen on {}: {}", cli.cfg.listen.to_string(), e.what());
        return 1;
    }
    log->info("spillway {} listening on {} with {} worker thread(s), backend {}", SPILLWAY_VERSION,
              server.local_endpoint().address().to_string() + ":" +
                  std::to_string(server.local_endpoint().port()),
              cli.cfg.worker_threads(), cli.cfg.backend.url);

    int sig = 0;
    sigwait(&signals, &sig);
    log->info("received {}, shutting down (up to {} ms for in-flight requests)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT", cli.cfg.shutdown_timeout.count());
    server.stop();
    log->info("stopped");
    spdlog::shutdown();
    return 0;
}
