#pragma once
// Retry-After (RFC 9110, 10.2.3) as the replay reads it from a 429 or 503: delta-seconds or an
// HTTP-date, in any of the three forms a recipient must accept (IMF-fixdate, RFC 850, asctime).
// Sans-I/O: the caller passes the clock's reading. The value comes from the backend, so anything
// else (a negative or fractional number, a date that is not one, trailing bytes) is ignored, never
// an error; a huge number saturates instead of overflowing (the retry policy caps it anyway).

#include <chrono>
#include <optional>
#include <string_view>

namespace spillway::replay {

// How long to wait from `now`: zero for a date in the past, nothing for a value that is neither
// form.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace spillway::replay
