#include "spillway/daemon/proxy_readiness.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace spillway::daemon {

namespace {

// "spool full (…)" or "spool nearly full (…)" when what counts against spool.max_bytes (records,
// quarantined records, or the files when larger) is close to it; says how much is quarantined,
// which only the operator can free.
std::optional<std::string> spool_space(const storage_state& s) {
    if (s.spool_max_bytes == 0) {
        return std::nullopt;
    }
    const std::uint64_t used =
        std::max(s.spool_bytes + s.spool_quarantined_bytes, s.spool_disk_bytes);
    const char* what = nullptr;
    if (used >= s.spool_max_bytes) {
        what = "spool full";
    } else if (static_cast<double>(used) >=
               spool_nearly_full * static_cast<double>(s.spool_max_bytes)) {
        what = "spool nearly full";
    } else {
        return std::nullopt;
    }
    std::string out = fmt::format("{} ({} of {} bytes", what, used, s.spool_max_bytes);
    if (s.spool_quarantined_bytes > 0) {
        out += fmt::format(", {} of them quarantined: see the README, \"The spool\"",
                           s.spool_quarantined_bytes);
    }
    return out + ")";
}

}  // namespace

std::optional<std::string> proxy_readiness(const storage_state& s) {
    std::string reasons;
    auto add = [&reasons](const std::string& r) { reasons += reasons.empty() ? r : "; " + r; };
    if (s.kafka_fatal) {
        add("kafka producer failed for good (" + *s.kafka_fatal +
            "); the proxy is restarting, captures go to the spool");
    } else if (!s.kafka_connected) {
        add("kafka unreachable (captures go to the spool)");
    }
    if (!s.spool_commit_ok) {
        add("spool not writable (its last commit failed)");
    }
    if (auto space = spool_space(s)) {
        add(*space);
    }
    if (s.spool_undeleted > 0) {
        add(
            fmt::format("spool cannot delete {} delivered records (retrying; a restart would send "
                        "them again)",
                        s.spool_undeleted));
    }
    if (reasons.empty()) {
        return std::nullopt;
    }
    return reasons;
}

}  // namespace spillway::daemon
