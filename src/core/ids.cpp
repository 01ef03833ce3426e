#include "spillway/core/ids.hpp"

#include "spillway/core/os_random.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace spillway::core {

std::uint64_t random_u64() {
    std::uint64_t v = 0;
    os_random_bytes(&v, sizeof v);
    return v;
}

request_id request_id::generate() {
    std::array<std::uint64_t, 2> bits{};
    os_random_bytes(bits.data(), sizeof bits);
    std::uint64_t hi = bits[0];
    std::uint64_t lo = bits[1];
    hi = (hi & 0xffffffffffff0fffull) | 0x0000000000004000ull;  // version 4
    lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull;  // variant 10
    static constexpr char hex[] = "0123456789abcdef";
    request_id id;
    auto& out = id.chars_;
    out.fill('-');
    std::size_t pos = 0;
    auto put = [&](std::uint64_t v, int nibbles) {
        for (int i = nibbles - 1; i >= 0; --i) {
            if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
                ++pos;
            }
            out[pos++] = hex[(v >> (i * 4)) & 0xf];
        }
    };
    put(hi, 16);
    put(lo, 16);
    return id;
}

std::string format_rfc3339(std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    // Every captured request is stamped: the calendar part (gmtime_r and strftime) is formatted
    // once per second and thread, and only the milliseconds each time.
    thread_local std::time_t formatted_second = -1;
    thread_local std::array<char, 24> calendar{};
    thread_local std::size_t calendar_length = 0;
    const auto second = floor<seconds>(now);
    const std::time_t t = system_clock::to_time_t(second);
    if (t != formatted_second) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        calendar_length = std::strftime(calendar.data(), calendar.size(), "%Y-%m-%dT%H:%M:%S", &tm);
        formatted_second = t;
    }
    const auto ms = static_cast<int>(duration_cast<milliseconds>(now - second).count());
    std::string out(calendar.data(), calendar_length);
    out += {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
            static_cast<char>('0' + ms % 10), 'Z'};
    return out;
}

}  // namespace spillway::core
