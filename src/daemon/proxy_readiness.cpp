#include "spillway/daemon/proxy_readiness.hpp"

#include <fmt/format.h>

namespace spillway::daemon {

std::optional<std::string> proxy_readiness(const storage_state& s) {
    std::string reasons;
    auto add = [&reasons](const std::string& r) { reasons += reasons.empty() ? r : "; " + r; };
    if (!s.kafka_connected) {
        add("kafka unreachable (captures go to the spool)");
    }
    if (!s.spool_commit_ok) {
        add("spool not writable (its last commit failed)");
    }
    if (s.spool_max_bytes > 0 && s.spool_bytes >= s.spool_max_bytes) {
        add(fmt::format("spool full ({} of {} bytes)", s.spool_bytes, s.spool_max_bytes));
    }
    if (reasons.empty()) {
        return std::nullopt;
    }
    return reasons;
}

}  // namespace spillway::daemon
