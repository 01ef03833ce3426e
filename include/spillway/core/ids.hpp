#pragma once
// Request ids: random (version 4) UUIDs from the operating system's CSPRNG (os_random.hpp),
// drawn in batches per thread, without locks.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace spillway::core {

// 64 random bits from the OS's CSPRNG (os_random_bytes): for ids nobody may predict or repeat
// (W3C trace and span ids; request ids take 122 such bits).
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
