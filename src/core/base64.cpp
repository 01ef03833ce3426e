// Base64 (RFC 4648 section 4), strict on input: the envelope's binary bodies and sealed values.

#include "spillway/core/base64.hpp"

#include <array>
#include <cstdint>

namespace spillway::core {

namespace {

constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> base64_values = [] {
    std::array<std::int8_t, 256> table{};
    table.fill(-1);
    for (int i = 0; i < 64; ++i) {
        table[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<std::int8_t>(i);
    }
    return table;
}();

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.resize((bytes.size() + 2) / 3 * 4);
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    char* o = out.data();
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
        *o++ = base64_alphabet[(v >> 18) & 63];
        *o++ = base64_alphabet[(v >> 12) & 63];
        *o++ = base64_alphabet[(v >> 6) & 63];
        *o++ = base64_alphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        const std::uint32_t v = (p[i] << 16) | (rest == 2 ? p[i + 1] << 8 : 0);
        *o++ = base64_alphabet[(v >> 18) & 63];
        *o++ = base64_alphabet[(v >> 12) & 63];
        *o++ = rest == 2 ? base64_alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return out;
}

// Strict RFC 4648 section 4: padded, no whitespace, no line breaks. Non-zero bits in the last
// symbol before the padding are accepted, as every common decoder does.
std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t pad = 0;
    if (!text.empty() && text.back() == '=') {
        pad = text[text.size() - 2] == '=' ? 2 : 1;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const std::size_t symbols = last ? 4 - pad : 4;
        std::uint32_t v = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const std::int8_t d =
                j < symbols ? base64_values[static_cast<unsigned char>(text[i + j])] : 0;
            if (d < 0) {
                return std::nullopt;
            }
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        out += static_cast<char>((v >> 16) & 0xff);
        if (symbols > 2) {
            out += static_cast<char>((v >> 8) & 0xff);
        }
        if (symbols > 3) {
            out += static_cast<char>(v & 0xff);
        }
    }
    return out;
}

}  // namespace spillway::core
