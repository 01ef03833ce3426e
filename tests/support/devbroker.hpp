#pragma once
// A spillway-devbroker for one test: started from this build's bin/ on a free port, its
// bootstrap address read from the file it writes, stopped (by pid) when the object goes away.
// down() and up() rehearse a Kafka outage with SIGUSR1 and SIGUSR2 and return only once the
// broker refuses, or accepts again, connections.

#include "support/process.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace spillway::test {

struct devbroker_options {
    int partitions = 3;
    int dlq_partitions = 1;
    std::string topic = "failed-requests";
    std::string dlq_topic = "failed-requests.dlq";
    std::vector<std::string> extra_args;
};

class devbroker {
public:
    // Throws std::runtime_error when the broker does not come up within 10 s.
    devbroker();
    explicit devbroker(devbroker_options options);

    const std::string& bootstrap() const { return bootstrap_; }  // "127.0.0.1:PORT"
    std::uint16_t port() const { return port_; }
    const devbroker_options& options() const { return options_; }

    // SIGUSR1; returns true once connections are refused (false if not within `timeout`).
    bool down(std::chrono::milliseconds timeout = 5s);
    // SIGUSR2; returns true once connections are accepted again.
    bool up(std::chrono::milliseconds timeout = 5s);
    // SIGTERM; returns the exit status (0 when it stopped cleanly).
    int stop() { return process_.stop(); }

    process& proc() { return process_; }

private:
    devbroker_options options_;
    temp_dir dir_{"spillway-devbroker"};
    process process_;
    std::string bootstrap_;
    std::uint16_t port_ = 0;
};

}  // namespace spillway::test
