#include "spillway/devbroker/control_lines.hpp"

namespace spillway::devbroker {

void control_lines::feed(std::string_view bytes) {
    if (overflowed_) {
        return;
    }
    if (start_ > 0) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    buffer_.append(bytes);
}

std::optional<std::string> control_lines::next_line() {
    if (overflowed_) {
        return std::nullopt;
    }
    const auto newline = buffer_.find('\n', start_);
    const std::size_t length = (newline == std::string::npos ? buffer_.size() : newline) - start_;
    if (length > max_line_bytes) {
        overflowed_ = true;
        buffer_.clear();
        start_ = 0;
        return std::nullopt;
    }
    if (newline == std::string::npos) {
        return std::nullopt;
    }
    std::string line = buffer_.substr(start_, length);
    start_ = newline + 1;
    return line;
}

}  // namespace spillway::devbroker
