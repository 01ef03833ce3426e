// spillway-devbroker: a one-broker Kafka cluster in memory for development, demos and tests,
// built on librdkafka's mock cluster. Clients speak the real Kafka protocol to it on loopback.
// docs/devbroker.md describes its flags, signals and limits.

#include "spillway/kafka/handles.hpp"
#include "spillway/runtime/cli.hpp"
#include "spillway/runtime/exit_status.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/runtime/signals.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// The port the next mock listener should bind instead of an ephemeral one (0 = leave it).
// librdkafka 2.0.2's mock cluster always binds 127.0.0.1:0 and has no option for a fixed port,
// so --port interposes bind() for the mock's listener only. The mock keeps the bound address and
// rebinds the same one after SIGUSR2, so the broker comes back where clients expect it.
std::atomic<std::uint16_t> fixed_port{0};

}  // namespace

extern "C" int bind(int fd, const struct sockaddr* addr, socklen_t len) {
    using bind_fn = int (*)(int, const struct sockaddr*, socklen_t);
    static const auto real_bind = reinterpret_cast<bind_fn>(dlsym(RTLD_NEXT, "bind"));
    const std::uint16_t port = fixed_port.load();
    if (port != 0 && addr != nullptr && addr->sa_family == AF_INET &&
        len >= static_cast<socklen_t>(sizeof(sockaddr_in)) &&
        reinterpret_cast<const sockaddr_in*>(addr)->sin_port == 0) {
        sockaddr_in fixed = *reinterpret_cast<const sockaddr_in*>(addr);
        fixed.sin_port = htons(port);
        return real_bind(fd, reinterpret_cast<const sockaddr*>(&fixed), sizeof fixed);
    }
    return real_bind(fd, addr, len);
}

namespace {

namespace kafka = spillway::kafka;
namespace runtime = spillway::runtime;

constexpr std::int32_t broker_id = 1;

struct mock_cluster_deleter {
    void operator()(rd_kafka_mock_cluster_t* p) const noexcept { rd_kafka_mock_cluster_destroy(p); }
};
using mock_cluster_handle = std::unique_ptr<rd_kafka_mock_cluster_t, mock_cluster_deleter>;

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

// Serves signals until SIGTERM or SIGINT: SIGUSR1 takes the broker down, SIGUSR2 brings it back.
void serve_signals(rd_kafka_mock_cluster_t* cluster, runtime::signal_waiter& signals) {
    auto log = runtime::logger("devbroker");
    for (;;) {
        const int sig = signals.wait();
        if (sig == SIGUSR1) {
            auto err = rd_kafka_mock_broker_set_down(cluster, broker_id);
            log->warn("broker {} down (SIGUSR1): {}", broker_id, rd_kafka_err2str(err));
        } else if (sig == SIGUSR2) {
            auto err = rd_kafka_mock_broker_set_up(cluster, broker_id);
            log->info("broker {} up (SIGUSR2): {}", broker_id, rd_kafka_err2str(err));
        } else {
            log->info("stopping ({})", runtime::signal_name(sig));
            return;
        }
    }
}

bool create_topic(rd_kafka_mock_cluster_t* cluster, const std::string& topic, int partitions) {
    auto err = rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        runtime::logger("devbroker")
            ->critical("cannot create topic {}: {}", topic, rd_kafka_err2str(err));
        return false;
    }
    runtime::logger("devbroker")->info("topic {} ({} partitions)", topic, partitions);
    return true;
}

// The cluster and the handle that hosts its thread; the cluster is destroyed first.
struct mock_broker {
    kafka::kafka_handle host;
    mock_cluster_handle cluster;
};

// Empty cluster on failure (logged). `port` 0 means a free port.
mock_broker start_mock(std::uint16_t port) {
    auto log = runtime::logger("devbroker");
    mock_broker mock;
    kafka::conf_handle conf(rd_kafka_conf_new());
    kafka::forward_logs(conf.get());
    // Without bootstrap.servers the host handle warns at notice level; the mock's own warnings
    // and errors still come through.
    rd_kafka_conf_set(conf.get(), "log_level", "4", nullptr, 0);
    try {
        mock.host = kafka::make_client(RD_KAFKA_PRODUCER, std::move(conf));
    } catch (const std::exception& e) {
        log->critical("{}", e.what());
        return mock;
    }
    fixed_port.store(port);
    mock.cluster.reset(rd_kafka_mock_cluster_new(mock.host.get(), 1));
    fixed_port.store(0);
    if (!mock.cluster) {
        log->critical("cannot start the mock cluster");
    }
    return mock;
}

// Prints the bootstrap address, and writes it to --bootstrap-file when asked.
bool publish_bootstrap(const runtime::cli_result& cli, const std::string& bootstrap) {
    std::cout << bootstrap << std::endl;
    if (cli.has("--bootstrap-file")) {
        const auto& path = cli.flags.at("--bootstrap-file");
        if (!write_atomically(path, bootstrap)) {
            runtime::logger("devbroker")->critical("cannot write {}", path);
            return false;
        }
    }
    runtime::logger("devbroker")->info("listening on {}", bootstrap);
    return true;
}

int run(const runtime::cli_result& cli) {
    const int partitions = int_flag(cli, "--partitions", 3, 1, 1000);
    const int dlq_partitions = int_flag(cli, "--dlq-partitions", 1, 1, 1000);
    const auto port = static_cast<std::uint16_t>(int_flag(cli, "--port", 0, 0, 65535));
    if (port != 0 && !port_is_free(port)) {
        runtime::logger("devbroker")
            ->critical("cannot listen on 127.0.0.1:{}: the port is in use", port);
        return runtime::exit_failure;
    }

    runtime::signal_waiter signals({SIGTERM, SIGINT, SIGUSR1, SIGUSR2});
    // A test runner killed by a timeout cannot stop its brokers: they stop themselves (SIGTERM,
    // served like any other). A parent already gone before prctl leaves us adopted by init.
    const pid_t parent = ::getppid();
    if (cli.has("--exit-with-parent") &&
        (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent)) {
        return runtime::exit_ok;
    }

    auto mock = start_mock(port);
    if (!mock.cluster || !create_topic(mock.cluster.get(), cli.cfg.kafka.topic, partitions) ||
        !create_topic(mock.cluster.get(), cli.cfg.replay.dlq_topic, dlq_partitions) ||
        !publish_bootstrap(cli, rd_kafka_mock_cluster_bootstraps(mock.cluster.get()))) {
        return runtime::exit_failure;
    }
    serve_signals(mock.cluster.get(), signals);
    return runtime::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    const runtime::program_info info{
        "spillway-devbroker",
        "an in-memory Kafka broker for development and tests (librdkafka mock cluster)",
        {
            {"--partitions", "N", "partitions of kafka.topic (default 3)"},
            {"--dlq-partitions", "N", "partitions of replay.dlq_topic (default 1)"},
            {"--port", "PORT", "listen on 127.0.0.1:PORT instead of a free port"},
            {"--bootstrap-file", "FILE", "write the bootstrap address to FILE (atomically)"},
            {"--exit-with-parent", "", "stop when the parent process dies (test fixtures)"},
        }};
    const auto cli = runtime::parse_command_line(argc, argv, info);
    runtime::setup_logging(cli.cfg.log);
    return runtime::run_guarded("devbroker", [&] { return run(cli); });
}
