#pragma once
// Request ids: random (version 4) UUIDs, generated without locks from a per-thread engine.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace spillway::core {

// 64 random bits from the calling thread's engine (seeded once from the OS, no lock): for ids
// that must not repeat and need not be secret (request ids, W3C trace and span ids).
std::uint64_t random_u64();

// A UUID v4 held inline (no allocation: one is made for every request on the hot path).
class request_id {
public:
    static request_id generate();

    std::string_view view() const { return {chars_.data(), chars_.size()}; }
    std::string str() const { return std::string(view()); }

private:
    std::array<char, 36> chars_{};
};

// A new UUID v4 in its canonical 36-character lower-case form.
inline std::string new_request_id() {
    return request_id::generate().str();
}

// A time as RFC 3339 UTC with milliseconds: 2026-11-26T18:00:00.123Z.
std::string format_rfc3339(std::chrono::system_clock::time_point t);
inline std::string now_rfc3339() {
    return format_rfc3339(std::chrono::system_clock::now());
}

}  // namespace spillway::core
