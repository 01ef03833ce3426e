#include "spillway/proxy/trace_context.hpp"

#include "spillway/core/ids.hpp"

#include <algorithm>
#include <cstdint>

namespace spillway::proxy {

namespace {

constexpr std::size_t version_00_size = trace_context::header_size;
constexpr std::size_t trace_id_at = 3;
constexpr std::size_t trace_id_size = 32;
constexpr std::size_t parent_id_at = 36;
constexpr std::size_t parent_id_size = 16;
constexpr std::size_t flags_at = 53;

bool lower_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

// Writes a random non-zero id of `nibbles` hex digits.
void random_hex(char* out, std::size_t nibbles) {
    static constexpr char hex[] = "0123456789abcdef";
    do {
        for (std::size_t i = 0; i < nibbles; i += 16) {
            std::uint64_t v = core::random_u64();
            for (std::size_t j = 0; j < 16 && i + j < nibbles; ++j, v >>= 4) {
                out[i + j] = hex[v & 0xf];
            }
        }
    } while (all_zero({out, nibbles}));
}

}  // namespace

std::optional<std::string_view> parse_traceparent(std::string_view v) {
    if (v.size() < version_00_size || v[2] != '-' || v[35] != '-' || v[52] != '-') {
        return std::nullopt;
    }
    const auto version = v.substr(0, 2);
    const auto trace_id = v.substr(trace_id_at, trace_id_size);
    const auto parent_id = v.substr(parent_id_at, parent_id_size);
    if (!lower_hex(version) || version == "ff" || !lower_hex(trace_id) || all_zero(trace_id) ||
        !lower_hex(parent_id) || all_zero(parent_id) || !lower_hex(v.substr(flags_at, 2))) {
        return std::nullopt;
    }
    if (v.size() > version_00_size && (version == "00" || v[version_00_size] != '-')) {
        return std::nullopt;  // version 00 has nothing after the flags
    }
    return trace_id;
}

trace_context trace_context::from_request(const client_request& req) {
    trace_context t;
    auto range = req.equal_range("traceparent");
    if (range.first == range.second || std::next(range.first) != range.second) {
        return t;  // absent, or repeated (which the spec makes invalid)
    }
    if (auto id = parse_traceparent(range.first->value())) {
        t.state_ = state::from_client;
        std::copy(id->begin(), id->end(), t.text_.begin() + trace_id_at);
    }
    return t;
}

void trace_context::generate_if_absent() {
    if (state_ != state::absent) {
        return;
    }
    state_ = state::generated;
    char* out = text_.data();
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    random_hex(out + trace_id_at, trace_id_size);
    out[35] = '-';
    random_hex(out + parent_id_at, parent_id_size);
    out[52] = '-';
    out[flags_at] = '0';
    out[flags_at + 1] = '0';
}

std::string_view trace_context::trace_id() const {
    if (state_ == state::absent) {
        return {};
    }
    return {text_.data() + trace_id_at, trace_id_size};
}

std::string_view trace_context::generated_header() const {
    if (state_ != state::generated) {
        return {};
    }
    return {text_.data(), text_.size()};
}

}  // namespace spillway::proxy
