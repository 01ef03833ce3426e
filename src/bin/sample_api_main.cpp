// spillway-sample-api: the demo backend, a small in-memory REST API of users that honours
// Idempotency-Key (the counterpart of the original demo's Express app). See users_api.hpp.

#include <csignal>
#include <exception>
#include <iostream>

#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"
#include "spillway/sample_api/http_server.hpp"
#include "spillway/sample_api/users_api.hpp"

using namespace spillway;

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway-sample-api",
        "the demo backend: an in-memory REST API of users that honours Idempotency-Key",
        {{"--listen", "HOST:PORT", "where to listen (default 0.0.0.0:3000)"}}};
    const auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    auto log = runtime::logger("sample-api");

    config::host_port listen{"0.0.0.0", 3000};
    if (cli.has("--listen")) {
        try {
            listen = config::parse_host_port("--listen", cli.flags.at("--listen"));
        } catch (const config::config_error& e) {
            std::cerr << "spillway-sample-api: " << e.what() << "\n";
            return 2;
        }
    }

    const auto signals = runtime::block_termination_signals();
    sample_api::users_api api;
    const auto server = sample_api::make_http_server(listen, api);
    try {
        server->start();
    } catch (const std::exception& e) {  // boost::system::system_error, a resolver error
        log->critical("cannot listen on {}: {}", listen.to_string(), e.what());
        return 1;
    }
    log->info("spillway-sample-api {} listening on {}:{} (GET /api/health, /api/users)",
              SPILLWAY_VERSION, listen.host, server->port());

    int sig = 0;
    sigwait(&signals, &sig);
    server->stop();
    const auto stats = api.stats();
    log->info("stopping ({}): {} users, {} created, {} repeats answered from Idempotency-Key",
              sig == SIGTERM ? "SIGTERM" : "SIGINT", stats.users, stats.created, stats.replayed);
    spdlog::shutdown();
    return 0;
}
