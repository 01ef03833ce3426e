#pragma once
// W3C Trace Context (level 1) at the proxy. A request whose client sent one valid `traceparent`
// keeps it: it and `tracestate` reach the backend unchanged, and the envelope has them since the
// client sent them. A request without one, or with an invalid one, gets a new traceparent for
// the backend (random trace id and parent id, flags 00: the proxy records no spans, so it does
// not claim the trace was sampled); the invalid traceparent and its tracestate are not
// forwarded (the spec: a vendor that cannot parse traceparent restarts the trace and does not
// propagate tracestate). What the proxy generates never goes into the envelope, which holds
// only what the client sent. Either way the access log shows the trace id.

#include "spillway/proxy/message_heads.hpp"

#include <array>
#include <optional>
#include <string_view>

namespace spillway::proxy {

// The trace id (32 lower-case hex) of a valid traceparent value, else nullopt. Version 00 is
// exactly 55 characters; a later version is accepted on its version-00 prefix when what follows
// the flags starts with '-' (the spec's rule for versions it does not know); version ff, upper
// case hex and all-zero ids are invalid.
std::optional<std::string_view> parse_traceparent(std::string_view value);

class trace_context {
public:
    static constexpr std::size_t header_size = 55;  // 00-<32 hex>-<16 hex>-<2 hex>

    // The client's trace context, if it sent exactly one traceparent field and that is valid.
    static trace_context from_request(const client_request& req);

    // A fresh traceparent unless the client's was valid (then nothing changes).
    void generate_if_absent();

    bool present() const { return state_ != state::absent; }
    bool generated() const { return state_ == state::generated; }

    // 32 hex characters, or "" when there is no trace context.
    std::string_view trace_id() const;

    // The traceparent value the proxy made, or "" when it made none: the forwarder sends it in
    // place of the client's traceparent and tracestate.
    std::string_view generated_header() const;

private:
    enum class state { absent, from_client, generated };
    state state_ = state::absent;
    std::array<char, header_size> text_{};  // a generated header, or the client's id at 3..35
};

}  // namespace spillway::proxy
