#pragma once
// librdkafka's mock cluster as the devbroker runs it: N brokers, its topics, and the faults the
// control protocol and the signals ask for, carried out under one lock so that SIGUSR1/SIGUSR2
// (main thread) and control clients (the listener's thread) see one state. Each change of the
// cluster is logged at warning level by the `devbroker` logger: a test's log shows its faults.

#include "spillway/devbroker/control_command.hpp"
#include "spillway/kafka/handles.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace spillway::devbroker {

class mock_cluster {
public:
    // Errors pushed for one API since its last `clear`: what a client can make the mock hold.
    static constexpr long max_pending_errors = 100000;

    // Starts `shape.brokers` brokers (ids 1..N) on loopback and creates `shape.topics` with
    // `replication` replicas. Throws std::runtime_error (the reason) when it cannot.
    mock_cluster(cluster_shape shape, int replication);
    ~mock_cluster();
    mock_cluster(const mock_cluster&) = delete;
    mock_cluster& operator=(const mock_cluster&) = delete;

    // "127.0.0.1:P1,127.0.0.1:P2,...", broker 1 first.
    std::string bootstraps() const;
    const cluster_shape& shape() const { return shape_; }

    // Carries out a parsed command; returns the answer line ("ok ...", "error ...").
    std::string execute(const control_command& command);

    // Every broker down or up, as SIGUSR1/SIGUSR2 ask; `why` ("SIGUSR1") goes into the log.
    void set_all(bool up, std::string_view why);

private:
    struct cluster_deleter {
        void operator()(rd_kafka_mock_cluster_t* p) const noexcept {
            rd_kafka_mock_cluster_destroy(p);
        }
    };

    std::string set_state(std::int32_t broker, bool up, std::string_view why);
    std::string status() const;

    cluster_shape shape_;
    kafka::kafka_handle host_;  // hosts the mock's thread; destroyed after the cluster
    std::unique_ptr<rd_kafka_mock_cluster_t, cluster_deleter> cluster_;
    mutable std::mutex mutex_;
    std::vector<bool> up_;  // [id - 1], as the devbroker last set it
    std::map<std::int16_t, long> pending_errors_;
};

}  // namespace spillway::devbroker
