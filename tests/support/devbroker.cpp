#include "support/devbroker.hpp"

#include <csignal>
#include <stdexcept>

namespace spillway::test {

namespace {

process start_broker(const devbroker_options& options, const std::filesystem::path& file) {
    process_options spawn;
    spawn.path = bin_path("spillway-devbroker");
    spawn.name = "devbroker";
    spawn.args = {"--bootstrap-file",  file.string(),
                  "--partitions",      std::to_string(options.partitions),
                  "--dlq-partitions",  std::to_string(options.dlq_partitions),
                  "--exit-with-parent"};
    spawn.args.insert(spawn.args.end(), options.extra_args.begin(), options.extra_args.end());
    // Topic names travel the way an operator sets them: through the environment overrides.
    spawn.env = {{"SPILLWAY_KAFKA_TOPIC", options.topic},
                 {"SPILLWAY_DLQ_TOPIC", options.dlq_topic}};
    return process::start(std::move(spawn));
}

}  // namespace

devbroker::devbroker() : devbroker(devbroker_options{}) {}

devbroker::devbroker(devbroker_options options) : options_(std::move(options)) {
    const auto file = dir_ / "bootstrap";
    process_ = start_broker(options_, file);
    if (!wait_until([&] { return std::filesystem::exists(file) || !process_.running(); }, 10s) ||
        !process_.running()) {
        throw std::runtime_error("spillway-devbroker did not start: " + process_.stderr_text());
    }
    bootstrap_ = read_file(file);
    while (!bootstrap_.empty() && (bootstrap_.back() == '\n' || bootstrap_.back() == '\r')) {
        bootstrap_.pop_back();
    }
    const auto colon = bootstrap_.rfind(':');
    if (colon == std::string::npos) {
        throw std::runtime_error("spillway-devbroker wrote no address: \"" + bootstrap_ + "\"");
    }
    port_ = static_cast<std::uint16_t>(std::stoi(bootstrap_.substr(colon + 1)));
}

bool devbroker::down(std::chrono::milliseconds timeout) {
    process_.signal(SIGUSR1);
    return wait_until([&] { return !port_accepts("127.0.0.1", port_); }, timeout);
}

bool devbroker::up(std::chrono::milliseconds timeout) {
    process_.signal(SIGUSR2);
    return wait_until([&] { return port_accepts("127.0.0.1", port_); }, timeout);
}

}  // namespace spillway::test
