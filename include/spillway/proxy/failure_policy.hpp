#pragma once
// The forward phase's decisions, as a sans-I/O state machine (the Boost.Redis way: events in,
// actions out). The forwarder tells it what happened (a circuit admitted or refused an endpoint,
// a connect ended, the request was written, a response head or a failure arrived, the relay
// ended) and carries out the action it gets back; the policy does no I/O and owns no socket, so
// every row of the failure matrix (docs/ARCHITECTURE.md) is tested step by step without one.
//
// The rules it keeps:
// - Endpoints are walked round-robin from the cursor, each at most once; one its circuit refuses
//   is skipped. The cursor moves past the first endpoint that admits the request.
// - A pooled connection that fails before the backend could act (nothing written, or an
//   idempotent method) is retried once on a new connection, on the same endpoint.
// - After a failure the next endpoint is tried only when nothing was sent or the method is
//   idempotent; a non-idempotent request never reaches two endpoints.
// - The failure captured is the last one, with sent_upstream true when any endpoint received
//   bytes; circuit_open when no endpoint admitted the request.
// - A failure is capturable until a byte of the response reached the client; after that the only
//   action is to abort the client connection.
// - Each admitted endpoint gets exactly one circuit verdict, carried by the action that follows
//   it (success for any response head that is not captured).
// - When the proxy itself cannot make a socket (out of descriptors or memory), nothing is the
//   backend's fault: no failure, no circuit verdict (a half-open probe is given back), no other
//   endpoint tried; the request is answered 503 overloaded and not captured.

#include "spillway/core/failure.hpp"
#include "spillway/proxy/circuit_breaker.hpp"

#include <boost/beast/http/verb.hpp>

#include <bitset>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace spillway::proxy {

// What the forwarder does next.
enum class forward_step : std::uint8_t {
    admit,  // ask the circuit of `endpoint` whether it takes the request
    acquire,  // take a pooled connection to `endpoint`, or open one
    reconnect,  // open a new connection to `endpoint`: the pooled one failed
    write_request,  // write the request head and body
    read_head,  // read the response head (1xx skipped)
    relay,  // stream the response to the client
    capture,  // hand failure() to the failure handler: nothing reached the client
    overloaded,  // answer 503 overloaded: the proxy ran out of its own resources; not captured
    abort,  // close the client connection: part of a response reached it
    done,  // the response was relayed whole
};

struct forward_action {
    forward_step step = forward_step::done;
    std::size_t endpoint = 0;  // the endpoint the step is about (capture: the one to name)
    // The verdict on the current endpoint's circuit, to report before carrying out the step;
    // verdict::none: nothing to report now.
    verdict report = verdict::none;
};

// How an upstream operation failed.
enum class upstream_error : std::uint8_t {
    timeout,  // the deadline passed (backend.response_timeout)
    closed,  // reset, EOF or any other socket error
};

// What counts as a failure, from the configuration.
struct failure_rules {
    std::bitset<600> capture_on;  // statuses captured as upstream_status (capture.on)
    std::chrono::milliseconds response_timeout{0};
};

class failure_policy {
public:
    // `endpoints` > 0; `cursor`: where the round-robin starts (taken modulo `endpoints`).
    failure_policy(const failure_rules& rules, std::size_t endpoints, std::size_t cursor,
                   bool idempotent);

    forward_action start();
    forward_action on_admission(bool admitted);
    forward_action on_connected(bool reused);
    forward_action on_connect_failed(std::string detail);
    // No socket could be made for the connection (EMFILE, ENFILE, ENOBUFS, ENOMEM).
    forward_action on_local_exhaustion();
    // `written`: bytes of the request the socket took, also when it failed.
    forward_action on_written(std::size_t written);
    forward_action on_write_failed(std::size_t written, upstream_error error, std::string detail);
    forward_action on_head(unsigned status, std::string_view reason);
    forward_action on_head_failed(upstream_error error, std::string detail);
    // A response body read failed; `reached_client`: a byte of the response was written to it.
    forward_action on_body_failed(upstream_error error, std::string_view detail,
                                  bool reached_client);
    forward_action on_client_write_failed();
    forward_action on_relayed();

    // The failure to capture (after a capture action) or the last one (a failure verdict's
    // cause). Its detail is empty for circuit_open: the forwarder knows the endpoints' names.
    core::failure& failure() { return failure_; }
    // Where the next request's round-robin starts.
    std::size_t cursor() const { return cursor_; }

private:
    forward_action fail(core::failure failure, verdict report);
    forward_action next_endpoint(verdict report);
    forward_action finish(verdict report);
    forward_action upstream_failed(upstream_error error, std::string detail);

    const failure_rules& rules_;
    std::size_t endpoints_;
    std::size_t first_;  // the walk's first endpoint
    std::size_t tried_ = 0;  // endpoints the walk has reached (admitted or refused)
    std::size_t current_ = 0;  // the endpoint being tried
    std::size_t admitted_ = 0;  // the last endpoint that admitted the request
    std::size_t cursor_;
    std::size_t written_ = 0;  // bytes of the request written on the current connection
    bool idempotent_;
    bool admitted_any_ = false;
    bool reused_ = false;  // the current connection came from the pool (a new one is not)
    bool sent_anywhere_ = false;
    core::failure failure_;
};

// GET, HEAD, PUT, DELETE, OPTIONS and TRACE (RFC 9110 §9.2.2).
bool is_idempotent(boost::beast::http::verb method);

}  // namespace spillway::proxy
