#pragma once
// Line framing for the control listener, without I/O: bytes in, whole lines out, and the one
// bound on what a client can make the listener hold while it has not finished a line.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::devbroker {

class control_lines {
public:
    // A line longer than this (without its "\n") closes the connection.
    static constexpr std::size_t max_line_bytes = 1024;

    // Appends what was read (nothing once overflowed). Call next_line() until it returns
    // nothing after each read: then at most max_line_bytes stay buffered.
    void feed(std::string_view bytes);

    // The next whole line without its "\n" ("\r" is left to the parser), if one arrived.
    // Nothing, and overflowed() from then on, once a line is longer than max_line_bytes: the
    // lines before it are still returned, so a client learns which of its commands ran.
    std::optional<std::string> next_line();

    bool overflowed() const { return overflowed_; }

private:
    std::string buffer_;
    std::size_t start_ = 0;  // the first byte not yet returned
    bool overflowed_ = false;
};

}  // namespace spillway::devbroker
