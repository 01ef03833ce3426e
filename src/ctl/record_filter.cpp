#include "spillway/ctl/record_filter.hpp"

#include <algorithm>
#include <charconv>

namespace spillway::ctl {

namespace {

// Reads exactly `width` digits at `pos`; advances it.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t width) {
    if (pos + width > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = 0; i < width; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    pos += width;
    return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos < text.size() && (text[pos] == c || (c == 'T' && text[pos] == 't'))) {
        ++pos;
        return true;
    }
    return false;
}

}  // namespace

std::optional<utc_time> parse_rfc3339(std::string_view text) {
    using namespace std::chrono;
    std::size_t pos = 0;
    const auto y = digits(text, pos, 4);
    if (!y || !expect(text, pos, '-')) {
        return std::nullopt;
    }
    const auto mo = digits(text, pos, 2);
    if (!mo || !expect(text, pos, '-')) {
        return std::nullopt;
    }
    const auto d = digits(text, pos, 2);
    if (!d || !expect(text, pos, 'T')) {
        return std::nullopt;
    }
    const auto h = digits(text, pos, 2);
    if (!h || !expect(text, pos, ':')) {
        return std::nullopt;
    }
    const auto mi = digits(text, pos, 2);
    if (!mi || !expect(text, pos, ':')) {
        return std::nullopt;
    }
    const auto s = digits(text, pos, 2);
    if (!s) {
        return std::nullopt;
    }
    int millis = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int scale = 100;
        const std::size_t first = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            millis += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == first) {
            return std::nullopt;
        }
    }
    minutes offset{0};
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        const auto oh = digits(text, pos, 2);
        if (!oh || !expect(text, pos, ':')) {
            return std::nullopt;
        }
        const auto om = digits(text, pos, 2);
        if (!om || *oh > 23 || *om > 59) {
            return std::nullopt;
        }
        offset = minutes(sign * (*oh * 60 + *om));
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) {
        return std::nullopt;
    }
    const year_month_day date{year(*y), month(static_cast<unsigned>(*mo)),
                              day(static_cast<unsigned>(*d))};
    if (!date.ok() || *h > 23 || *mi > 59 || *s > 60) {
        return std::nullopt;
    }
    return utc_time(sys_days(date)) + hours(*h) + minutes(*mi) + seconds(*s) +
           milliseconds(millis) - offset;
}

bool filters_nothing(const record_filter& f) {
    return f.ids.empty() && !f.kind && !f.reason && !f.status && !f.method && !f.path_prefix &&
           !f.since && !f.until;
}

bool matches(const record_filter& f, const envelope::envelope& e) {
    if (!f.ids.empty() && std::find(f.ids.begin(), f.ids.end(), e.id) == f.ids.end()) {
        return false;
    }
    if (f.kind && e.failure.kind != *f.kind) {
        return false;
    }
    if (f.reason && (!e.dlq || e.dlq->reason.find(*f.reason) == std::string::npos)) {
        return false;
    }
    if (f.status && (!e.dlq || e.dlq->last_status != f.status)) {
        return false;
    }
    if (f.method && e.method != *f.method) {
        return false;
    }
    if (f.path_prefix && e.uri.compare(0, f.path_prefix->size(), *f.path_prefix) != 0) {
        return false;
    }
    if (f.since || f.until) {
        const auto at = parse_rfc3339(e.received_at);
        if (!at || (f.since && *at < *f.since) || (f.until && *at >= *f.until)) {
            return false;
        }
    }
    return true;
}

}  // namespace spillway::ctl
