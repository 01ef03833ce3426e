#pragma once
// What `spillway-replay --tail` prints for one queued message: an operator's view of the queue.
//   text: <received_at> <id> <method> <uri> <failure>[ <status>] body=<n>B attempts=<n> @p/offset
//   json: the envelope's JSON on one line
//   curl: a POSIX shell command that resends it to backend.url by hand (with the Idempotency-Key):
//         the body exactly (--data-raw, or through printf and stdin when it is not printable),
//         every part quoted so nothing in the message is read as a file, an option or a glob

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

// Quotes for a POSIX shell: '...' when every byte is printable ASCII, else "$(printf '%b' '...')"
// with octal escapes (exact for any text without NUL bytes and trailing newlines, which command
// substitution drops: header values and uris have neither; bodies are piped instead). Either way
// the quoted text is printable, so it cannot drive the terminal it is printed on.
std::string shell_quote(std::string_view text);

}  // namespace spillway::replay
