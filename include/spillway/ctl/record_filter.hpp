#pragma once
// Which envelopes an operator means (`spillway-ctl tail|redrive` filters, DESIGN.md "Operating the
// queue"): every filter given must hold. Sans-I/O: the command line is parsed elsewhere.

#include "spillway/core/failure.hpp"
#include "spillway/envelope/envelope.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spillway::ctl {

using utc_time = std::chrono::sys_time<std::chrono::milliseconds>;

struct record_filter {
    std::vector<std::string> ids;  // --id, repeatable: any of them
    std::optional<core::failure_kind> kind;  // --kind: failure.kind
    std::optional<std::string> reason;  // --reason: a substring of dlq.reason
    std::optional<unsigned> status;  // --status: dlq.last_status
    std::optional<std::string> method;  // --method, exact (methods are case-sensitive)
    std::optional<std::string> path_prefix;  // --path-prefix, on the uri
    std::optional<utc_time> since;  // --since, on received_at, inclusive
    std::optional<utc_time> until;  // --until, on received_at, exclusive
};

// Whether no filter is set (everything matches, a record that is no envelope too).
bool filters_nothing(const record_filter& filter);

// Whether `e` passes every filter. A dead-letter filter (reason, status) never matches an envelope
// without `dlq`; a time filter never matches an unreadable received_at.
bool matches(const record_filter& filter, const envelope::envelope& e);

// RFC 3339 with a Z or a numeric offset and optional fractional seconds
// ("2026-12-01T10:00:00Z", "2026-12-01T11:00:00.250+01:00"); nullopt when it is not one.
std::optional<utc_time> parse_rfc3339(std::string_view text);

}  // namespace spillway::ctl
