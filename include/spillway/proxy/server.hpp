#pragma once
// The proxy daemon's engine: N worker threads, each with its own io_context, its own listening
// socket on the same address (SO_REUSEPORT: the kernel spreads connections, no hand-off between
// threads) and its own upstream pool. A connection lives on one worker for its whole life.
// docs/ARCHITECTURE.md says why this model was chosen. The configuration comes as a snapshot
// (snapshot.hpp) that reload() replaces while the workers serve.

#include "spillway/config/config.hpp"
#include "spillway/proxy/failure_handler.hpp"
#include "spillway/proxy/rate_limiter.hpp"
#include "spillway/proxy/session.hpp"
#include "spillway/proxy/snapshot.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace spillway::proxy {

class server {
public:
    // `handler` answers the requests the backend could not take (capture.on statuses included).
    server(std::shared_ptr<const config::config> cfg, failure_handler& handler);
    server(const config::config& cfg, failure_handler& handler);  // serves a copy of `cfg`
    ~server();

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds the listeners (throws std::system_error if the address is taken) and starts the
    // worker threads.
    void start();

    // The bound address (useful with port 0).
    net::ip::tcp::endpoint local_endpoint() const;

    // The event loop of the first worker (after start()), for work that must run on one of
    // them, such as serving Kafka's delivery reports. It runs until stop() returns.
    netx::executor first_worker_executor() const;

    // Serves new requests under `next` (SIGHUP): each worker takes it on its own thread; requests
    // in flight finish under the snapshot they started with. Keys that need a restart (listen,
    // threads) must be as they were (config_diff.hpp sees to it). Not concurrently with stop().
    void reload(std::shared_ptr<const config::config> next);

    // The newest snapshot (any thread).
    std::shared_ptr<const snapshot> current() const;

    // Graceful stop: stop accepting (after serving what the kernel already queued for this
    // process's listeners), give idle keep-alive connections a short grace to send one more
    // request (answered with Connection: close), let in-flight requests finish for up to
    // shutdown_timeout, then cancel the rest and join the threads. Idempotent.
    // README, "Restarting without downtime".
    void stop();

    const proxy_counters& counters() const { return counters_; }
    // Request bodies held in memory now, against limits.max_buffered_bytes.
    const http_util::body_budget& body_budget() const { return body_budget_; }
    // The newest snapshot's backend endpoints with their circuits and pool gauges (/metrics).
    backend_endpoints endpoints() const { return current()->endpoints; }
    // The TLS listener's certificate (reload() it for new handshakes); null without tls.*.
    tls_server_context* tls() { return tls_.get(); }

private:
    struct worker;
    task<void> accept_loop(worker& w);
    void start_session(worker& w, netx::tcp_socket socket);
    void accept_queued(worker& w);  // while stopping: what the kernel queued

    const config::config& cfg() const { return *current()->cfg; }

    mutable std::mutex current_mutex_;  // guards current_ (never taken by a worker)
    std::shared_ptr<const snapshot> current_;
    failure_handler& handler_;
    std::unique_ptr<tls_server_context> tls_;  // first: a bad certificate fails before the rest
    proxy_counters counters_;
    http_util::body_budget body_budget_;  // shared by the workers
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<std::thread> threads_;
    net::ip::tcp::endpoint endpoint_;
    bool stopped_ = false;
};

}  // namespace spillway::proxy
