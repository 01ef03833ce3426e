#pragma once
// A spillway-devbroker for one test: started from this build's bin/ on free ports, its bootstrap
// (and control) address read from the files it writes, stopped (by pid) when the object goes
// away. down() and up() rehearse a Kafka outage with SIGUSR1 and SIGUSR2 (every broker) and
// return only once every broker refuses, or accepts again, connections. With `control`, the
// control listener's port is control_port() (support/control_client.hpp speaks to it).

#include "support/process.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spillway::test {

struct devbroker_options {
    int partitions = 3;
    int dlq_partitions = 1;
    std::string topic = "failed-requests";
    std::string dlq_topic = "failed-requests.dlq";
    int brokers = 1;
    std::optional<int> replication;  // the devbroker's default: min(brokers, 3)
    bool control = false;  // --control-port 0 and --control-file
    std::vector<std::string> extra_args;
};

class devbroker {
public:
    // Throws std::runtime_error when the broker does not come up within 10 s.
    devbroker();
    explicit devbroker(devbroker_options options);

    // "127.0.0.1:PORT" for one broker, "127.0.0.1:P1,127.0.0.1:P2,..." (broker 1 first) for more.
    const std::string& bootstrap() const { return bootstrap_; }
    std::uint16_t port() const { return ports_.front(); }  // broker 1's
    std::uint16_t port_of(int broker_id) const { return ports_.at(broker_id - 1); }
    const std::vector<std::uint16_t>& ports() const { return ports_; }
    // The control listener's port (0 without `control`).
    std::uint16_t control_port() const { return control_port_; }
    const devbroker_options& options() const { return options_; }

    // SIGUSR1; returns true once every broker refuses connections (false if not within
    // `timeout`).
    bool down(std::chrono::milliseconds timeout = 5s);
    // SIGUSR2; returns true once every broker accepts connections again.
    bool up(std::chrono::milliseconds timeout = 5s);
    // SIGTERM; returns the exit status (0 when it stopped cleanly).
    int stop() { return process_.stop(); }

    process& proc() { return process_; }

private:
    devbroker_options options_;
    temp_dir dir_{"spillway-devbroker"};
    process process_;
    std::string bootstrap_;
    std::vector<std::uint16_t> ports_;
    std::uint16_t control_port_ = 0;
};

}  // namespace spillway::test
