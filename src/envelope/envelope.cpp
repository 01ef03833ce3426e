#include "spillway/envelope/envelope.hpp"

#include "spillway/core/text.hpp"

#include <array>
#include <charconv>
#include <cstring>

namespace spillway::envelope {

namespace {

// Length of the well-formed UTF-8 sequence starting at p[0] (1..4), or 0 when it is not one
// (RFC 3629 table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t left) {
    const unsigned char c = p[0];
    if (c < 0x80) {
        return 1;
    }
    auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
        return i < left && p[i] >= lo && p[i] <= hi;
    };
    if (c >= 0xc2 && c <= 0xdf) {
        return cont(1) ? 2 : 0;
    }
    if (c >= 0xe0 && c <= 0xef) {
        const unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
        const unsigned char hi = c == 0xed ? 0x9f : 0xbf;
        return cont(1, lo, hi) && cont(2) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        const unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
        const unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
        return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

// Appends `text` (valid UTF-8) as the inside of a JSON string.
void append_escaped(std::string& out, std::string_view text) {
    core::append_json_escaped(out, text);
}

// JSON text must be UTF-8, but header values and the like may carry obs-text bytes: every
// ill-formed sequence becomes U+FFFD (documented in docs/envelope.md as the one lossy case).
std::string replace_invalid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t n = utf8_sequence_length(p + i, text.size() - i);
        if (n == 0) {
            out += "\xef\xbf\xbd";
            ++i;
        } else {
            out.append(text.data() + i, n);
            i += n;
        }
    }
    return out;
}

void append_string(std::string& out, std::string_view text) {
    out += '"';
    if (is_valid_utf8(text)) {
        append_escaped(out, text);
    } else {
        append_escaped(out, replace_invalid_utf8(text));
    }
    out += '"';
}

void append_number(std::string& out, std::uint64_t value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    (void)ec;  // 24 bytes always hold a 64-bit number
    out.append(buf, end);
}

void append_key(std::string& out, std::string_view key) {
    out += '"';
    out += key;
    out += "\":";
}

void append_failure(std::string& out, const core::failure& f) {
    out += '{';
    append_key(out, "kind");
    append_string(out, core::to_string(f.kind));
    out += ',';
    append_key(out, "status");
    if (f.kind == core::failure_kind::upstream_status && f.status) {
        append_number(out, *f.status);
    } else {
        out += "null";
    }
    out += ',';
    append_key(out, "sent_upstream");
    out += f.sent_upstream ? "true" : "false";
    out += ',';
    append_key(out, "detail");
    append_string(out, f.detail);
    out += '}';
}

void append_dlq(std::string& out, const dlq_info& d) {
    out += '{';
    append_key(out, "reason");
    append_string(out, d.reason);
    out += ',';
    append_key(out, "last_status");
    if (d.last_status) {
        append_number(out, *d.last_status);
    } else {
        out += "null";
    }
    out += ',';
    append_key(out, "attempts");
    append_number(out, d.attempts);
    out += ',';
    append_key(out, "at");
    append_string(out, d.at);
    out += '}';
}

void append_headers(std::string& out, const header_list& headers) {
    out += '[';
    bool first = true;
    for (const auto& [name, value] : headers) {
        out += first ? "[" : ",[";
        first = false;
        append_string(out, name);
        out += ',';
        append_string(out, value);
        out += ']';
    }
    out += ']';
}

// How many bytes escaping adds to each byte inside a JSON string (core::append_json_escaped):
// 1 for the two-character escapes, 5 for \u00XX.
constexpr std::array<std::uint8_t, 256> escape_growth = [] {
    std::array<std::uint8_t, 256> table{};
    for (int c = 0; c < 0x20; ++c) {
        table[c] = 5;
    }
    table['"'] = table['\\'] = table['\n'] = table['\r'] = table['\t'] = 1;
    return table;
}();

// The length of `text` escaped for a JSON string, without writing it.
std::size_t escaped_size(std::string_view text) {
    std::size_t n = text.size();
    for (unsigned char c : text) {
        n += escape_growth[c];
    }
    return n;
}

std::size_t estimated_size(const envelope& e, bool utf8_body) {
    std::size_t n = 512 + e.id.size() + e.uri.size() + e.failure.detail.size();
    for (const auto& [name, value] : e.headers) {
        n += name.size() + value.size() + 8;
    }
    // The body's own size is bounded by body_as_utf8; escapes are rare in real bodies.
    n += utf8_body ? e.body.size() + e.body.size() / 16 : (e.body.size() + 2) / 3 * 4;
    return n;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    std::size_t i = 0;
    while (i < size) {
        // Most bodies are ASCII: test eight bytes at a time for a high bit.
        if (size - i >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p + i, sizeof word);
            if ((word & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        const std::size_t n = utf8_sequence_length(p + i, size - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

bool body_as_utf8(std::string_view body) {
    // Text stays readable in the topic (kcat, tail) whatever quotes and line breaks it has; a
    // body of control bytes, which would grow sixfold, goes as base64 (4/3). The bound is in
    // envelope_limits.hpp.
    return is_valid_utf8(body) && escaped_size(body) <= 2 * body.size();
}

std::string to_json(const envelope& e) {
    const bool utf8_body = body_as_utf8(e.body);
    std::string out;
    out.reserve(estimated_size(e, utf8_body));
    out += "{\"version\":";
    append_number(out, envelope::current_version);
    out += ",\"id\":";
    append_string(out, e.id);
    out += ",\"received_at\":";
    append_string(out, e.received_at);
    out += ",\"method\":";
    append_string(out, e.method);
    out += ",\"uri\":";
    append_string(out, e.uri);
    out += ",\"http_version\":";
    append_string(out, e.http_version);
    out += ",\"headers\":";
    append_headers(out, e.headers);
    out += ",\"body\":\"";
    if (e.body_sealed) {
        // Ours is ASCII; one parsed from a hostile record is kept valid JSON all the same.
        append_escaped(out, utf8_body ? std::string_view(e.body) : replace_invalid_utf8(e.body));
        out += "\",\"body_encoding\":\"sealed\"";
    } else if (utf8_body) {
        append_escaped(out, e.body);
        out += "\",\"body_encoding\":\"utf8\"";
    } else {
        out += base64_encode(e.body);
        out += "\",\"body_encoding\":\"base64\"";
    }
    out += ",\"client_ip\":";
    append_string(out, e.client_ip);
    if (!e.scheme.empty()) {
        out += ",\"scheme\":";
        append_string(out, e.scheme);
    }
    out += ",\"upstream\":";
    append_string(out, e.upstream);
    out += ",\"failure\":";
    append_failure(out, e.failure);
    out += ",\"attempts\":";
    append_number(out, e.attempts);
    if (e.dlq) {
        out += ",\"dlq\":";
        append_dlq(out, *e.dlq);
    }
    out += '}';
    return out;
}

}  // namespace spillway::envelope
