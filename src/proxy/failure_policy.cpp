#include "spillway/proxy/failure_policy.hpp"

#include <string>
#include <utility>

namespace spillway::proxy {

bool is_idempotent(boost::beast::http::verb method) {
    using boost::beast::http::verb;
    switch (method) {
        case verb::get:
        case verb::head:
        case verb::put:
        case verb::delete_:
        case verb::options:
        case verb::trace:
            return true;
        default:
            return false;
    }
}

failure_policy::failure_policy(const failure_rules& rules, std::size_t endpoints,
                               std::size_t cursor, bool idempotent)
    : rules_(rules),
      endpoints_(endpoints),
      first_(cursor % endpoints),
      cursor_(cursor),
      idempotent_(idempotent) {}

forward_action failure_policy::start() {
    return next_endpoint(verdict::none);
}

forward_action failure_policy::on_admission(bool admitted) {
    if (!admitted) {
        return next_endpoint(verdict::none);  // skipped at no cost: no connection, no timer
    }
    if (!admitted_any_) {
        cursor_ = current_ + 1;  // round-robin over the endpoints that take requests
    }
    admitted_any_ = true;
    admitted_ = current_;
    written_ = 0;
    reused_ = false;
    return {forward_step::acquire, current_};
}

forward_action failure_policy::on_connected(bool reused) {
    reused_ = reused;
    written_ = 0;
    return {forward_step::write_request, current_};
}

forward_action failure_policy::on_connect_failed(std::string detail) {
    return fail({core::failure_kind::connect_error, std::nullopt, false, std::move(detail)},
                verdict::failure);
}

forward_action failure_policy::on_local_exhaustion() {
    // Not a failure of this endpoint, nor of any other: no verdict, and no walk onwards, which
    // would only fail the same way (or blame the next endpoint).
    return {forward_step::overloaded, current_, verdict::none};
}

forward_action failure_policy::on_written(std::size_t written) {
    written_ = written;
    return {forward_step::read_head, current_};
}

forward_action failure_policy::on_write_failed(std::size_t written, upstream_error error,
                                               std::string detail) {
    written_ = written;
    return upstream_failed(error, std::move(detail));
}

forward_action failure_policy::on_head(unsigned status, std::string_view reason) {
    if (status < rules_.capture_on.size() && rules_.capture_on.test(status)) {
        return fail({core::failure_kind::upstream_status, status, true, std::string(reason)},
                    verdict::failure);
    }
    return {forward_step::relay, current_, verdict::success};
}

forward_action failure_policy::on_head_failed(upstream_error error, std::string detail) {
    return upstream_failed(error, std::move(detail));
}

forward_action failure_policy::on_body_failed(upstream_error error, std::string_view detail,
                                              bool reached_client) {
    if (reached_client) {
        return {forward_step::abort, current_};
    }
    // The head was a success for the circuit (already reported); the client has seen nothing,
    // so the request is still captured, or tried elsewhere.
    const auto kind = error == upstream_error::timeout ? core::failure_kind::timeout
                                                       : core::failure_kind::upstream_reset;
    return fail({kind, std::nullopt, true, "response body: " + std::string(detail)}, verdict::none);
}

forward_action failure_policy::on_client_write_failed() {
    return {forward_step::abort, current_};
}

forward_action failure_policy::on_relayed() {
    return {forward_step::done, current_};
}

// The request was written (maybe partly) and no response head came.
forward_action failure_policy::upstream_failed(upstream_error error, std::string detail) {
    const bool sent = written_ > 0;
    if (error == upstream_error::timeout) {
        return fail(
            {core::failure_kind::timeout, std::nullopt, sent,
             "no response head within " + std::to_string(rules_.response_timeout.count()) + " ms"},
            verdict::failure);
    }
    // A pooled connection the backend closed at the same moment we reused it: try once more on
    // a new connection when the backend cannot have acted on the request.
    if (reused_ && (!sent || idempotent_)) {
        reused_ = false;
        written_ = 0;
        return {forward_step::reconnect, current_};
    }
    return fail({core::failure_kind::upstream_reset, std::nullopt, sent, std::move(detail)},
                verdict::failure);
}

forward_action failure_policy::fail(core::failure failure, verdict report) {
    sent_anywhere_ = sent_anywhere_ || failure.sent_upstream;
    failure_ = std::move(failure);
    if (failure_.sent_upstream && !idempotent_) {
        return finish(report);  // another endpoint must not get the request
    }
    return next_endpoint(report);
}

forward_action failure_policy::next_endpoint(verdict report) {
    if (tried_ == endpoints_) {
        return finish(report);
    }
    current_ = (first_ + tried_) % endpoints_;
    ++tried_;
    return {forward_step::admit, current_, report};
}

forward_action failure_policy::finish(verdict report) {
    if (!admitted_any_) {
        failure_ = core::failure{core::failure_kind::circuit_open, std::nullopt, false, {}};
        return {forward_step::capture, first_, report};
    }
    failure_.sent_upstream = sent_anywhere_;
    return {forward_step::capture, admitted_, report};
}

}  // namespace spillway::proxy
