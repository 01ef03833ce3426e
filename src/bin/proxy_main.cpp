// spillway: the proxy daemon.
#include "spillway/daemon/proxy_daemon.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/exit_status.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"

namespace {

using namespace spillway;

int run(const config::config& cfg) {
    runtime::signal_waiter signals;  // before the daemon starts its threads
    daemon::proxy_daemon proxy(cfg);
    if (!proxy.start()) {
        return runtime::exit_failure;
    }
    if (const auto sig = runtime::wait_for_termination(signals)) {
        runtime::logger("proxy")->info(
            "received {}, shutting down (up to {} ms for in-flight requests)", *sig,
            cfg.shutdown_timeout.count());
    }
    proxy.stop();
    return runtime::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway",
        "fault-tolerant HTTP reverse proxy: what the backend cannot take is stored in Kafka",
        {}};
    const auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    return runtime::run_guarded("proxy", [&] { return run(cli.cfg); });
}
