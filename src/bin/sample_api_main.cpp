// spillway-sample-api: the demo backend, a small in-memory REST API of users that honours
// Idempotency-Key (the counterpart of the original demo's Express app). See users_api.hpp.

#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/exit_status.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"
#include "spillway/sample_api/http_server.hpp"
#include "spillway/sample_api/users_api.hpp"

#include <boost/system/system_error.hpp>

namespace {

using namespace spillway;

int serve(const config::host_port& listen) {
    auto log = runtime::logger("sample-api");
    runtime::signal_waiter signals;  // before the server starts its thread
    sample_api::users_api api;
    const auto server = sample_api::make_http_server(listen, api);
    try {
        server->start();
    } catch (const boost::system::system_error& e) {  // the address is taken, or no such host
        log->critical("cannot listen on {}: {}", listen.to_string(), e.what());
        return runtime::exit_failure;
    }
    log->info("spillway-sample-api {} listening on {}:{} (GET /api/health, /api/users)",
              SPILLWAY_VERSION, listen.host, server->port());

    const auto sig = runtime::wait_for_termination(signals);
    server->stop();
    const auto stats = api.stats();
    log->info("stopping ({}): {} users, {} created, {} repeats answered from Idempotency-Key",
              sig.value_or("interrupted"), stats.users, stats.created, stats.replayed);
    return runtime::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway-sample-api",
        "the demo backend: an in-memory REST API of users that honours Idempotency-Key",
        {{"--listen", "HOST:PORT", "where to listen (default 0.0.0.0:3000)"}}};
    const auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    return runtime::run_guarded("sample-api", [&] {
        // A bad --listen is a usage mistake: run_guarded reports its config_error with status 2.
        const auto listen = cli.has("--listen")
                                ? config::parse_host_port("--listen", cli.flags.at("--listen"))
                                : config::host_port{"0.0.0.0", 3000};
        return serve(listen);
    });
}
