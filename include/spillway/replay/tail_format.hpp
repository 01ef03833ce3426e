#pragma once
// What `spillway-replay --tail` prints for one queued message: an operator's view of the queue.
//   text: <received_at> <id> <method> <uri> <failure>[ <status>] body=<n>B attempts=<n> @p/offset
//   json: the envelope's JSON on one line
//   curl: a shell command that resends it to backend.url by hand (with the Idempotency-Key)

#include "spillway/envelope/envelope.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::replay {

enum class tail_format { text, json, curl };

std::optional<tail_format> tail_format_from_string(std::string_view name);

struct tail_position {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
};

// One line (no trailing newline). `raw` is the record value; an invalid envelope is shown as
// "# invalid envelope (<reason>) @p/offset" in every format (a comment line for a shell).
std::string format_tail_line(tail_format format, std::string_view raw, const tail_position& where,
                             std::string_view backend_url);

// Quotes for a POSIX shell: '...' when printable, else bash's $'...' with \xHH escapes.
std::string shell_quote(std::string_view text);

}  // namespace spillway::replay
