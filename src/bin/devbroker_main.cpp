// spillway-devbroker: a Kafka cluster of 1..9 brokers in memory for development, demos and tests,
// built on librdkafka's mock cluster. Clients speak the real Kafka protocol to it on loopback; a
// control listener (and SIGUSR1/SIGUSR2) make it misbehave on command.
// docs/devbroker.md describes its flags, signals, control protocol and limits.

#include "spillway/devbroker/control_command.hpp"
#include "spillway/devbroker/control_server.hpp"
#include "spillway/devbroker/mock_cluster.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/exit_status.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// The port the next mock listener should bind instead of an ephemeral one (0 = leave it); each
// such bind takes the next port, so brokers 1..N get PORT..PORT+N-1 in the order the mock
// creates them. librdkafka 2.0.2's mock cluster always binds 127.0.0.1:0 and has no option for a
// fixed port, so --port interposes bind() while the cluster is being created. The mock keeps each
// bound address and rebinds it after a broker comes back up, where clients expect it.
std::atomic<std::uint32_t> next_fixed_port{0};

}  // namespace

extern "C" int bind(int fd, const struct sockaddr* addr, socklen_t len) {
    using bind_fn = int (*)(int, const struct sockaddr*, socklen_t);
    static const auto real_bind = reinterpret_cast<bind_fn>(dlsym(RTLD_NEXT, "bind"));
    std::uint32_t port = next_fixed_port.load();
    if (port != 0 && addr != nullptr && addr->sa_family == AF_INET &&
        len >= static_cast<socklen_t>(sizeof(sockaddr_in)) &&
        reinterpret_cast<const sockaddr_in*>(addr)->sin_port == 0 &&
        next_fixed_port.compare_exchange_strong(port, port + 1)) {
        sockaddr_in fixed = *reinterpret_cast<const sockaddr_in*>(addr);
        fixed.sin_port = htons(static_cast<std::uint16_t>(port));
        return real_bind(fd, reinterpret_cast<const sockaddr*>(&fixed), sizeof fixed);
    }
    return real_bind(fd, addr, len);
}

namespace {

namespace devbroker = spillway::devbroker;
namespace runtime = spillway::runtime;

int int_flag(const runtime::cli_result& cli, const std::string& name, int fallback, int lo,
             int hi) {
    auto it = cli.flags.find(name);
    if (it == cli.flags.end()) {
        return fallback;
    }
    try {
        std::size_t used = 0;
        int value = std::stoi(it->second, &used);
        if (used == it->second.size() && value >= lo && value <= hi) {
            return value;
        }
    } catch (const std::exception&) {
        // Reported below.
    }
    std::cerr << "spillway-devbroker: " << name << ": expected an integer in [" << lo << ", " << hi
              << "], got \"" << it->second << "\"\n";
    std::exit(runtime::exit_config_error);
}

// Written beside the target and renamed: a reader never sees half an address.
bool write_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text << "\n";
        out.flush();
        if (!out) {
            return false;
        }
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// librdkafka 2.0.2 aborts (an assertion in its clean-up) when the mock cannot bind, so a busy
// --port is found out first and reported as an error.
bool port_is_free(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // as the mock does
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool free =
        ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 1) == 0;
    ::close(fd);
    return free;
}

// "127.0.0.1:PORT,127.0.0.1:PORT+1,..." for `brokers` brokers.
std::string fixed_bootstraps(int port, int brokers) {
    std::string list;
    for (int i = 0; i < brokers; ++i) {
        list += (i == 0 ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port + i);
    }
    return list;
}

// Serves signals until SIGTERM or SIGINT: SIGUSR1 takes every broker down, SIGUSR2 brings them
// back. Control clients are served on their own thread meanwhile.
void serve_signals(devbroker::mock_cluster& cluster, runtime::signal_waiter& signals) {
    for (;;) {
        const int sig = signals.wait();
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            cluster.set_all(sig == SIGUSR2, runtime::signal_name(sig));
        } else {
            runtime::logger("devbroker")->info("stopping ({})", runtime::signal_name(sig));
            return;
        }
    }
}

// Prints the address, and writes it to the file named by `file_flag` when given.
bool publish(const runtime::cli_result& cli, const std::string& file_flag,
             const std::string& address) {
    if (!cli.has(file_flag)) {
        return true;
    }
    const auto& path = cli.flags.at(file_flag);
    if (!write_atomically(path, address)) {
        runtime::logger("devbroker")->critical("cannot write {}", path);
        return false;
    }
    return true;
}

// The mock cluster with its brokers on PORT.. when `port` is set; null on failure (logged).
std::unique_ptr<devbroker::mock_cluster> start_cluster(devbroker::cluster_shape shape, int port,
                                                       int replication) {
    auto log = runtime::logger("devbroker");
    const int brokers = shape.brokers;
    std::unique_ptr<devbroker::mock_cluster> cluster;
    next_fixed_port.store(static_cast<std::uint32_t>(port));
    try {
        cluster = std::make_unique<devbroker::mock_cluster>(std::move(shape), replication);
    } catch (const std::exception& e) {
        next_fixed_port.store(0);
        log->critical("{}", e.what());
        return nullptr;
    }
    next_fixed_port.store(0);
    if (port != 0 && cluster->bootstraps() != fixed_bootstraps(port, brokers)) {
        log->critical("brokers listen on {}, not on the ports asked for", cluster->bootstraps());
        return nullptr;
    }
    return cluster;
}

// The control listener on `port` (0 = a free one); throws std::system_error when it cannot
// listen.
std::unique_ptr<devbroker::control_server> start_control(std::uint16_t port,
                                                         devbroker::mock_cluster& cluster) {
    return std::make_unique<devbroker::control_server>(port, [&cluster](std::string_view line) {
        auto parsed = devbroker::parse_control_command(line, cluster.shape());
        if (!parsed.command) {
            return "error " + parsed.error;
        }
        return cluster.execute(*parsed.command);
    });
}

int run(const runtime::cli_result& cli) {
    auto log = runtime::logger("devbroker");
    const int brokers = int_flag(cli, "--brokers", 1, 1, 9);
    const int replication = int_flag(cli, "--replication", std::min(brokers, 3), 1, brokers);
    const int port = int_flag(cli, "--port", 0, 0, 65536 - brokers);
    devbroker::cluster_shape shape;
    shape.brokers = brokers;
    shape.topics = {{cli.cfg.kafka.topic, int_flag(cli, "--partitions", 3, 1, 1000)},
                    {cli.cfg.replay.dlq_topic, int_flag(cli, "--dlq-partitions", 1, 1, 1000)}};
    std::optional<std::uint16_t> control_port;
    if (cli.has("--control-port")) {
        control_port = static_cast<std::uint16_t>(int_flag(cli, "--control-port", 0, 0, 65535));
    }
    for (int i = 0; port != 0 && i < brokers; ++i) {
        if (!port_is_free(static_cast<std::uint16_t>(port + i))) {
            log->critical("cannot listen on 127.0.0.1:{} (broker {}): the port is in use", port + i,
                          i + 1);
            return runtime::exit_failure;
        }
    }

    runtime::signal_waiter signals({SIGTERM, SIGINT, SIGUSR1, SIGUSR2});
    // A test runner killed by a timeout cannot stop its brokers: they stop themselves (SIGTERM,
    // served like any other). A parent already gone before prctl leaves us adopted by init.
    const pid_t parent = ::getppid();
    if (cli.has("--exit-with-parent") &&
        (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent)) {
        return runtime::exit_ok;
    }

    auto cluster = start_cluster(std::move(shape), port, replication);
    if (!cluster) {
        return runtime::exit_failure;
    }
    // The control address is published before the bootstrap address: a fixture that waits for
    // the bootstrap file finds both.
    std::unique_ptr<devbroker::control_server> control;
    if (control_port) {
        control = start_control(*control_port, *cluster);
        const auto address = "127.0.0.1:" + std::to_string(control->port());
        if (!publish(cli, "--control-file", address)) {
            return runtime::exit_failure;
        }
        log->info("control listener on {}", address);
    }
    const auto bootstrap = cluster->bootstraps();
    std::cout << bootstrap << std::endl;
    if (!publish(cli, "--bootstrap-file", bootstrap)) {
        return runtime::exit_failure;
    }
    log->info("listening on {} ({} broker(s), replication {})", bootstrap, brokers, replication);
    serve_signals(*cluster, signals);
    return runtime::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway-devbroker",
        "an in-memory Kafka cluster for development and tests (librdkafka mock cluster)",
        {
            {"--brokers", "N", "brokers in the cluster, ids 1..N (1..9, default 1)"},
            {"--replication", "R", "replication factor of both topics (1..N, default min(N, 3))"},
            {"--partitions", "N", "partitions of kafka.topic (default 3)"},
            {"--dlq-partitions", "N", "partitions of replay.dlq_topic (default 1)"},
            {"--port", "PORT", "broker i listens on 127.0.0.1:PORT+i-1 instead of a free port"},
            {"--bootstrap-file", "FILE", "write the bootstrap address to FILE (atomically)"},
            {"--control-port", "PORT", "control listener on 127.0.0.1:PORT (0 = a free port)"},
            {"--control-file", "FILE", "write the control address to FILE (atomically)"},
            {"--exit-with-parent", "", "stop when the parent process dies (test fixtures)"},
        }};
    const auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    return runtime::run_guarded("devbroker", [&] { return run(cli); });
}
