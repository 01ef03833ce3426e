// spillway: the proxy daemon.
#include "spillway/daemon/proxy_daemon.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/descriptor_limit.hpp"
#include "spillway/runtime/exit_status.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"
#include "spillway/upstream/tls_client_context.hpp"

#include <csignal>
#include <cstdlib>
#include <memory>
#include <string_view>

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

// SPILLWAY_TEST_HOOKS=1 lets SIGUSR2 raise a fatal producer error, for the tests of what follows
// one (README, "Exit statuses"). Never set it in production.
bool test_hooks_enabled() {
    const char* v = std::getenv("SPILLWAY_TEST_HOOKS");
    return v != nullptr && std::string_view(v) == "1";
}

std::unique_ptr<runtime::signal_waiter> make_signal_waiter(bool test_hooks) {
    if (test_hooks) {
        runtime::logger("proxy")->warn(
            "SPILLWAY_TEST_HOOKS=1: SIGUSR2 raises a fatal Kafka producer error (tests only)");
        return std::make_unique<runtime::signal_waiter>(
            std::initializer_list<int>{SIGTERM, SIGINT, SIGHUP, SIGUSR2});
    }
    return std::make_unique<runtime::signal_waiter>(
        std::initializer_list<int>{SIGTERM, SIGINT, SIGHUP});
}

int run(const runtime::cli_result& cli) {
    const auto& cfg = cli.cfg;
    check_descriptor_limit(cfg);
    upstream::prepare_backend_tls(cfg.backend);  // a CA file that does not load: exit 2
    // A file-size limit (ulimit -f) must fail the spool's write, which SQLite reports and the
    // capture answers "queued":false, not kill the proxy with SIGXFSZ.
    std::signal(SIGXFSZ, SIG_IGN);
    const auto log = runtime::logger("proxy");
    // Before the daemon starts its threads.
    const auto signals = make_signal_waiter(test_hooks_enabled());
    daemon::proxy_daemon proxy(cfg);
    proxy.on_kafka_fatal([&signals](const std::string&) { signals->interrupt(); });
    if (!proxy.start()) {
        return runtime::exit_failure;
    }
    for (int sig = signals->wait(); sig != 0; sig = signals->wait()) {
        if (sig == SIGHUP) {
            log->info("received SIGHUP, reloading {}",
                      cli.config_path ? *cli.config_path : std::string("the defaults"));
            proxy.reload([&cli] { return runtime::reload_configuration(cli); });
            continue;
        }
        if (sig != SIGUSR2) {
            log->info("received {}, shutting down", runtime::signal_name(sig));
            break;
        }
        log->warn("SIGUSR2: raising a fatal Kafka producer error (SPILLWAY_TEST_HOOKS)");
        proxy.raise_kafka_fatal_for_test();
    }
    if (const auto fatal = proxy.kafka_fatal()) {
        log->error(
            "the Kafka producer failed for good ({}): stopping, captures in flight go to the "
            "spool; exit status 1 so that the supervisor restarts the proxy with a new producer",
            *fatal);
    }
    proxy.stop();
    return proxy.kafka_fatal() ? runtime::exit_failure : runtime::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway",
        "fault-tolerant HTTP reverse proxy: what the backend cannot take is stored in Kafka",
        {}};
    const auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    return runtime::run_guarded("proxy", [&] { return run(cli); });
}
