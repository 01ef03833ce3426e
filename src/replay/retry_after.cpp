#include "spillway/replay/retry_after.hpp"

#include "spillway/http/hop_by_hop.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace spillway::replay {

namespace {

using namespace std::chrono;

// More than any backoff_max_ms, far from overflowing milliseconds.
constexpr std::uint64_t max_seconds = 100ull * 365 * 24 * 3600;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Exactly `n` digits at the front of `s`, consumed.
std::optional<int> take_digits(std::string_view& s, std::size_t n) {
    if (s.size() < n) {
        return std::nullopt;
    }
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!is_digit(s[i])) {
            return std::nullopt;
        }
        v = v * 10 + (s[i] - '0');
    }
    s.remove_prefix(n);
    return v;
}

bool take(std::string_view& s, std::string_view literal) {
    if (s.substr(0, literal.size()) != literal) {
        return false;
    }
    s.remove_prefix(literal.size());
    return true;
}

std::optional<unsigned> take_month(std::string_view& s) {
    static constexpr std::array<std::string_view, 12> names{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (unsigned i = 0; i < names.size(); ++i) {
        if (take(s, names[i])) {
            return i + 1;
        }
    }
    return std::nullopt;
}

// "HH:MM:SS"
std::optional<seconds> take_time_of_day(std::string_view& s) {
    const auto h = take_digits(s, 2);
    if (!h || !take(s, ":")) {
        return std::nullopt;
    }
    const auto m = take_digits(s, 2);
    if (!m || !take(s, ":")) {
        return std::nullopt;
    }
    const auto sec = take_digits(s, 2);
    if (!sec || *h > 23 || *m > 59 || *sec > 60) {  // 60: a leap second
        return std::nullopt;
    }
    return hours{*h} + minutes{*m} + seconds{*sec};
}

std::optional<system_clock::time_point> at(int y, unsigned mon, int d, seconds time_of_day) {
    const year_month_day date{year{y}, month{mon}, day{static_cast<unsigned>(d)}};
    if (!date.ok()) {
        return std::nullopt;
    }
    return sys_days{date} + time_of_day;
}

// The part after the weekday and its separator, for each form. The weekday itself is not checked
// against the date: RFC 9110 lets a recipient ignore it.
//
// IMF-fixdate "06 Nov 1994 08:49:37 GMT" and RFC 850 "06-Nov-94 08:49:37 GMT" differ only in the
// separator and the year's digits. A two-digit year (RFC 9110: one that looks over 50 years ahead
// is in the past century): 70 as the pivot; a date read as 19xx is in the past, which only means
// "no wait".
std::optional<system_clock::time_point> day_month_year_date(std::string_view s,
                                                            std::string_view separator,
                                                            std::size_t year_digits) {
    const auto d = take_digits(s, 2);
    if (!d || !take(s, separator)) {
        return std::nullopt;
    }
    const auto mon = take_month(s);
    if (!mon || !take(s, separator)) {
        return std::nullopt;
    }
    const auto y = take_digits(s, year_digits);
    if (!y || !take(s, " ")) {
        return std::nullopt;
    }
    const auto t = take_time_of_day(s);
    if (!t || s != " GMT") {
        return std::nullopt;
    }
    const int full_year = year_digits == 4 ? *y : (*y < 70 ? 2000 + *y : 1900 + *y);
    return at(full_year, *mon, *d, *t);
}

std::optional<system_clock::time_point> imf_fixdate(std::string_view s) {
    return day_month_year_date(s, " ", 4);
}

std::optional<system_clock::time_point> rfc850(std::string_view s) {
    return day_month_year_date(s, "-", 2);
}

std::optional<system_clock::time_point> asctime_date(
    std::string_view s) {  // "Nov  6 08:49:37 1994"
    const auto mon = take_month(s);
    if (!mon || !take(s, " ")) {
        return std::nullopt;
    }
    // The day is two characters: a digit, or a space before a one-digit day ("Nov  6").
    if (s.size() < 2 || !(is_digit(s[0]) || s[0] == ' ') || !is_digit(s[1])) {
        return std::nullopt;
    }
    const int d = (s[0] == ' ' ? 0 : (s[0] - '0') * 10) + (s[1] - '0');
    s.remove_prefix(2);
    if (!take(s, " ")) {
        return std::nullopt;
    }
    const auto t = take_time_of_day(s);
    if (!t || !take(s, " ")) {
        return std::nullopt;
    }
    const auto y = take_digits(s, 4);
    if (!y || !s.empty()) {
        return std::nullopt;
    }
    return at(*y, *mon, d, *t);
}

std::optional<system_clock::time_point> http_date(std::string_view s) {
    static constexpr std::array<std::string_view, 7> short_days{"Mon", "Tue", "Wed", "Thu",
                                                                "Fri", "Sat", "Sun"};
    static constexpr std::array<std::string_view, 7> long_days{
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    for (auto name : long_days) {
        std::string_view rest = s;
        if (take(rest, name) && take(rest, ", ")) {
            return rfc850(rest);
        }
    }
    for (auto name : short_days) {
        std::string_view rest = s;
        if (!take(rest, name)) {
            continue;
        }
        if (take(rest, ", ")) {
            return imf_fixdate(rest);
        }
        if (take(rest, " ")) {
            return asctime_date(rest);
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              system_clock::time_point now) {
    value = http_util::trim_ows(value);
    if (value.empty()) {
        return std::nullopt;
    }
    if (std::all_of(value.begin(), value.end(), is_digit)) {
        std::uint64_t n = 0;
        for (char c : value) {
            n = std::min(max_seconds, n * 10 + static_cast<std::uint64_t>(c - '0'));
        }
        return duration_cast<milliseconds>(seconds{n});
    }
    const auto when = http_date(value);
    if (!when) {
        return std::nullopt;
    }
    if (*when <= now) {
        return milliseconds{0};
    }
    return std::min(duration_cast<milliseconds>(*when - now),
                    duration_cast<milliseconds>(seconds{max_seconds}));
}

}  // namespace spillway::replay
