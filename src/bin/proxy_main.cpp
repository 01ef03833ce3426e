// spillway: the proxy daemon.
#include "spillway/daemon/proxy_daemon.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/descriptor_limit.hpp"
#include "spillway/runtime/exit_status.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"

namespace {

using namespace spillway;

// Out of descriptors, the proxy pauses accepting and answers 503 overloaded: say at start when
// the limit makes that likely.
void check_descriptor_limit(const config::config& cfg) {
    const auto log = runtime::logger("proxy");
    const auto limit = runtime::raise_descriptor_limit();
    if (limit.soft != limit.before) {
        log->info("descriptor limit raised from {} to the hard limit {}", limit.before, limit.soft);
    }
    const auto needed =
        runtime::descriptors_needed(cfg.limits.max_connections, cfg.worker_threads());
    if (limit.soft < needed) {
        log->warn(
            "descriptor limit {} is below the {} that limits.max_connections = {} needs "
            "(two per connection and some headroom): raise the hard limit (ulimit -Hn, "
            "LimitNOFILE=) or lower limits.max_connections; when descriptors run out, "
            "accepting pauses and requests are answered 503 overloaded",
            limit.soft, needed, cfg.limits.max_connections);
    }
}

int run(const config::config& cfg) {
    check_descriptor_limit(cfg);
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
