#pragma once
// Serves the producer's delivery reports on one of the proxy's event loops instead of on the
// producer's own poll thread. A capture waits for its report, so each report used to cross two
// threads before the request's coroutine resumed: librdkafka's broker thread woke the poll
// thread, which posted to the worker. Served on a worker, the broker thread wakes the worker
// directly (through a pipe the worker's reactor watches): one hand-off and one runnable thread
// less on the failure path (docs/ARCHITECTURE.md, "Why these librdkafka settings").

#include "spillway/kafka/producer.hpp"
#include "spillway/net/timed_socket.hpp"

#include <memory>

namespace spillway::daemon {

class report_pump {
public:
    explicit report_pump(kafka::producer& producer);
    ~report_pump();  // stop()

    report_pump(const report_pump&) = delete;
    report_pump& operator=(const report_pump&) = delete;

    // Takes the reports over and serves them on `ex` (an event loop that keeps running until
    // stop()). Returns false, changing nothing, when the producer cannot hand them over.
    bool start(netx::executor ex);

    // From any thread, before the event loop stops: the producer's poll thread serves the
    // reports again at once, and the pump's wait on the event loop ends.
    void stop() noexcept;

    struct state;

private:
    kafka::producer& producer_;
    std::shared_ptr<state> state_;
};

}  // namespace spillway::daemon
