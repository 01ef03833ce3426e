#include "spillway/replay/tail_format.hpp"

#include "spillway/core/seal.hpp"
#include "spillway/core/text.hpp"
#include "spillway/http/hop_by_hop.hpp"
#include "spillway/replay/request_builder.hpp"

#include <cstdio>
#include <variant>

namespace spillway::replay {

namespace {

std::string where_suffix(const tail_position& where) {
    return " @" + std::to_string(where.partition) + "/" + std::to_string(where.offset);
}

// A queued message must not be able to drive the operator's terminal (escape sequences) or
// forge a line.
std::string visible(std::string_view text) {
    return core::log_escaped(text);
}

std::string text_line(const envelope::envelope& e, const tail_position& where) {
    std::string line = visible(e.received_at) + " " + visible(e.id) + " " + visible(e.method) +
                       " " + visible(e.uri) + " " + std::string(core::to_string(e.failure.kind));
    if (e.failure.status) {
        line += " " + std::to_string(*e.failure.status);
    }
    // A sealed body is not opened here (docs/sealing.md): --tail shows what a topic reader sees.
    line += e.body_sealed ? " body=sealed" : " body=" + std::to_string(e.body.size()) + "B";
    line += " attempts=" + std::to_string(e.attempts);
    return line + where_suffix(where);
}

bool printable(std::string_view text) {
    for (unsigned char c : text) {
        if (c < 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

// `text` for printf's %b: every byte that is not printable ASCII, and the backslash, as \0ooo.
std::string printf_escaped(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            char octal[8];
            std::snprintf(octal, sizeof octal, "\\0%03o", c);
            out += octal;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

// The message wrote every part of this command, so each is quoted and none may be taken as
// anything but data: `curl -q` reads no ~/.curlrc; --globoff keeps [] and {} in the URL from
// being curl's ranges (a uri /[1-100000] would be 100,000 requests); the body goes with
// --data-raw, which never reads a file (with --data-binary, a body "@/etc/passwd" uploads that
// file). A header with an empty value is "Name;" (curl drops a header given as "Name:"). A body
// with bytes that are not printable is written by printf from octal escapes and read from curl's
// stdin (`--data-binary @-`: stdin, named by us, not by the message): an argument cannot hold a
// NUL byte, and raw control bytes must not reach the operator's terminal.
std::string curl_line(const envelope::envelope& e, std::string_view backend_url) {
    std::string line;
    const bool piped = !e.body_sealed && !e.body.empty() && !printable(e.body);
    if (piped) {
        line = "printf '%b' " + shell_quote(printf_escaped(e.body)) + " | ";
    }
    line += "curl -q -sS --globoff -X " + shell_quote(e.method) + " " +
            shell_quote(std::string(backend_url) + e.uri);
    bool has_key = false;
    bool sealed = e.body_sealed;
    for (const auto& [name, value] : e.headers) {
        has_key = has_key || http_util::iequals(name, "Idempotency-Key");
        sealed = sealed || core::is_sealed(value);
        line += " -H " + shell_quote(value.empty() ? name + ";" : name + ": " + value);
    }
    if (!has_key) {
        line += " -H " + shell_quote("Idempotency-Key: " + e.id);
    }
    if (piped) {
        line += " --data-binary @-";
    } else if (!e.body.empty() && !e.body_sealed) {
        line += " --data-raw " + shell_quote(e.body);
    }
    if (sealed) {
        // Never opened by --tail: the command would otherwise put credentials in a terminal's
        // scrollback and a shell's history. Only spillway-replay opens them.
        line += e.body_sealed ? " # sealed: the body is left out and sealed headers are as stored"
                              : " # sealed: sealed headers are as stored";
    }
    return line;
}

}  // namespace

std::optional<tail_format> tail_format_from_string(std::string_view name) {
    if (name == "text") {
        return tail_format::text;
    }
    if (name == "json") {
        return tail_format::json;
    }
    if (name == "curl") {
        return tail_format::curl;
    }
    return std::nullopt;
}

std::string shell_quote(std::string_view text) {
    if (!printable(text)) {
        return "\"$(printf '%b' " + shell_quote(printf_escaped(text)) + ")\"";
    }
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::string format_tail_line(tail_format format, std::string_view raw, const tail_position& where,
                             std::string_view backend_url) {
    auto parsed = envelope::parse_envelope(raw);
    if (auto* bad = std::get_if<envelope::parse_error>(&parsed)) {
        return "# invalid envelope (" + visible(bad->reason) + ")" + where_suffix(where);
    }
    const auto& e = std::get<envelope::envelope>(parsed);
    switch (format) {
        case tail_format::text:
            return text_line(e, where);
        case tail_format::json:
            // Re-serialized so that it is one line whatever the producer wrote.
            return envelope::to_json(e);
        case tail_format::curl:
            return curl_line(e, backend_url);
    }
    return {};
}

}  // namespace spillway::replay
