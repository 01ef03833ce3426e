#include "support/devbroker.hpp"

#include <algorithm>
#include <csignal>
#include <stdexcept>

namespace spillway::test {

namespace {

process start_broker(const devbroker_options& options, const std::filesystem::path& dir) {
    process_options spawn;
    spawn.path = bin_path("spillway-devbroker");
    spawn.name = "devbroker";
    spawn.args = {"--bootstrap-file",  (dir / "bootstrap").string(),
                  "--partitions",      std::to_string(options.partitions),
                  "--dlq-partitions",  std::to_string(options.dlq_partitions),
                  "--brokers",         std::to_string(options.brokers),
                  "--exit-with-parent"};
    if (options.replication) {
        spawn.args.insert(spawn.args.end(),
                          {"--replication", std::to_string(*options.replication)});
    }
    if (options.control) {
        spawn.args.insert(spawn.args.end(),
                          {"--control-port", "0", "--control-file", (dir / "control").string()});
    }
    spawn.args.insert(spawn.args.end(), options.extra_args.begin(), options.extra_args.end());
    // Topic names travel the way an operator sets them: through the environment overrides.
    spawn.env = {{"SPILLWAY_KAFKA_TOPIC", options.topic},
                 {"SPILLWAY_DLQ_TOPIC", options.dlq_topic}};
    return process::start(std::move(spawn));
}

std::string first_line(const std::filesystem::path& file) {
    auto text = read_file(file);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

std::uint16_t port_of_address(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) {
        throw std::runtime_error("spillway-devbroker wrote no address: \"" + address + "\"");
    }
    return static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
}

}  // namespace

devbroker::devbroker() : devbroker(devbroker_options{}) {}

devbroker::devbroker(devbroker_options options) : options_(std::move(options)) {
    const auto file = dir_ / "bootstrap";
    process_ = start_broker(options_, dir_.path());
    if (!wait_until([&] { return std::filesystem::exists(file) || !process_.running(); }, 10s) ||
        !process_.running()) {
        throw std::runtime_error("spillway-devbroker did not start: " + process_.stderr_text());
    }
    bootstrap_ = first_line(file);
    for (std::size_t start = 0; start <= bootstrap_.size();) {
        const auto comma = std::min(bootstrap_.find(',', start), bootstrap_.size());
        ports_.push_back(port_of_address(bootstrap_.substr(start, comma - start)));
        start = comma + 1;
    }
    // The control file is written before the bootstrap file.
    if (options_.control) {
        control_port_ = port_of_address(first_line(dir_ / "control"));
    }
}

bool devbroker::down(std::chrono::milliseconds timeout) {
    process_.signal(SIGUSR1);
    return wait_until(
        [&] {
            return std::none_of(ports_.begin(), ports_.end(),
                                [](auto port) { return port_accepts("127.0.0.1", port); });
        },
        timeout);
}

bool devbroker::up(std::chrono::milliseconds timeout) {
    process_.signal(SIGUSR2);
    return wait_until(
        [&] {
            return std::all_of(ports_.begin(), ports_.end(),
                               [](auto port) { return port_accepts("127.0.0.1", port); });
        },
        timeout);
}

}  // namespace spillway::test
