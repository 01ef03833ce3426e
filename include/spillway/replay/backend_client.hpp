#pragma once
// The replay's HTTP client: sends rebuilt requests to backend.url and nowhere else, over pooled
// keep-alive connections. It reports what happened in the terms the retry policy needs: could not
// connect (the backend is down: not an attempt), connected but no complete response (an attempt),
// or a status. A pooled connection that the backend had closed while idle is retried once on a
// fresh connection before anything is reported. Its probe is an HTTP request too (the outage rule
// of docs/replay.md needs the status, not only a connection), and one exchange can be cancelled
// on its own (its partition was revoked).
//
// Built on the backend-client core it shares with the proxy (upstream/): the pool with the DNS
// cache and the check of an idle connection before reuse, read_response_head for 1xx, deadlines
// from a sweeper. A connection goes back to the pool only when its response was read to the end and
// nothing is left unread after it.

#include "spillway/config/config.hpp"
#include "spillway/net/timed_socket.hpp"
#include "spillway/replay/request_builder.hpp"
#include "spillway/upstream/pool.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace spillway::replay {

namespace net = boost::asio;

struct send_result {
    enum class kind {
        response,  // `status` holds the final status
        connect_failed,  // resolve or connect failed or timed out
        transport_failed,  // connected, but the exchange failed (reset, timeout, bad response)
        aborted,  // close_all() was called (shutdown)
    };
    kind outcome = kind::aborted;
    unsigned status = 0;
    std::optional<std::chrono::milliseconds> retry_after;  // from Retry-After (retry_after.hpp)
    std::string detail;
    bool timed_out = false;  // transport_failed: no full answer within backend.response_timeout_ms
};

struct probe_result {
    std::optional<unsigned> status;  // the final status; nothing when no response was read
    std::string detail;  // why not, for the log
};

// Cancels one send (its message's partition was revoked): the connection it uses is closed at
// once, so the exchange ends with kind::aborted and nothing of it is retried or reused. Lives on
// the caller's side, passed to send(); both run on the client's executor.
class exchange_cancel {
public:
    void cancel();
    bool cancelled() const { return cancelled_; }

private:
    friend class backend_client;
    bool cancelled_ = false;
    upstream::connection* connection_ = nullptr;  // the one in use, while send() is on it
};

class backend_client {
public:
    // Everything runs on `ex` (the replay's io_context), which must outlive the client; up to
    // `max_idle` idle connections are kept.
    // `probe_path`: the target of probe() (replay.probe_path).
    backend_client(netx::executor ex, const config::backend_config& cfg, std::size_t max_idle,
                   std::string probe_path = "/");
    ~backend_client();
    backend_client(const backend_client&) = delete;
    backend_client& operator=(const backend_client&) = delete;

    // `r` (and `cancel`, when given) must stay alive until the send completes.
    netx::task<send_result> send(const outgoing_request& r, unsigned attempt,
                                 exchange_cancel* cancel = nullptr);

    // GET probe_path on a new connection (Connection: close), bounded by the connect and the
    // response timeouts; the status of the answer, if any.
    netx::task<probe_result> probe();

    // Aborts every exchange in progress and closes every connection; later sends are aborted.
    void close_all();

    // host:port of backend.url, the Host of a request that had none.
    std::string default_host() const;

private:
    struct exchange_result;

    netx::task<exchange_result> exchange(upstream::connection& c, const outgoing_request& r,
                                         unsigned attempt);

    config::backend_config cfg_;
    std::string probe_head_;  // the probe's request, whole
    // Shared with the coroutine that runs it, which may resume once after the client is gone.
    std::shared_ptr<netx::deadline_sweeper> sweeper_;
    upstream::pool_gauges gauges_;  // the pool needs somewhere to count; the replay exports none
    upstream::connection_pool pool_;
    bool closed_ = false;
};

}  // namespace spillway::replay
