// The envelope parser (src/envelope/envelope_parse.cpp) and its serializer (envelope.cpp), which
// the proxy and the replay consumer share. Each input is used twice:
// - As Kafka record text: parse_envelope never throws; an envelope it accepts serializes with
//   to_json to text that parses back to the same envelope, and serializes again identically.
// - As the fields of an envelope the proxy would build (a UUID, a timestamp, a token method, an
//   origin-form uri, headers, any body bytes, any failure): to_json, then parse_envelope, must
//   give it back, with the one documented loss: a string that is not UTF-8 (header values, the
//   failure's detail, ...) has each ill-formed byte replaced by U+FFFD. The body, any bytes, comes
//   back exactly.

#include "spillway/core/text.hpp"
#include "spillway/envelope/envelope.hpp"

#include "fuzz_support.hpp"

#include <cstdio>
#include <variant>

namespace {

namespace env = spillway::envelope;
using spillway::core::failure_kind;
using spillway::fuzz::input_reader;

bool same(const env::envelope& a, const env::envelope& b) {
    const bool dlq_same =
        a.dlq.has_value() == b.dlq.has_value() &&
        (!a.dlq || (a.dlq->reason == b.dlq->reason && a.dlq->last_status == b.dlq->last_status &&
                    a.dlq->attempts == b.dlq->attempts && a.dlq->at == b.dlq->at));
    return a.id == b.id && a.received_at == b.received_at && a.method == b.method &&
           a.uri == b.uri && a.http_version == b.http_version && a.headers == b.headers &&
           a.body == b.body && a.client_ip == b.client_ip && a.scheme == b.scheme &&
           a.upstream == b.upstream && a.failure.kind == b.failure.kind &&
           a.failure.status == b.failure.status &&
           a.failure.sent_upstream == b.failure.sent_upstream &&
           a.failure.detail == b.failure.detail && a.attempts == b.attempts && dlq_same;
}

// What the envelope's text holds for `s`: every byte that does not start a well-formed UTF-8
// sequence becomes U+FFFD. Written apart from envelope.cpp's table on purpose: it decodes the
// code point and checks its range.
std::string lossy_utf8(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if (c >= 0xc0 && c <= 0xdf) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf7) {
            len = 4, cp = c & 0x07, min = 0x10000;
        }
        bool ok = len != 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            ok = (cc & 0xc0) == 0x80;
            cp = (cp << 6) | (cc & 0x3f);
        }
        ok = ok && cp >= min && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xef\xbf\xbd";
            ++i;
        }
    }
    return out;
}

char token_char(std::uint8_t b) {
    static constexpr std::string_view tchars =
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    return tchars[b % tchars.size()];
}

std::string token(input_reader& in, std::size_t max, std::string_view fallback) {
    std::string s = in.string(max);
    for (auto& c : s) {
        c = token_char(static_cast<std::uint8_t>(c));
    }
    return s.empty() ? std::string(fallback) : s;
}

std::string uuid(input_reader& in) {
    static constexpr char hex[] = "0123456789abcdefABCDEF";
    std::string s;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            s += '-';
        }
        s += hex[in.byte() % 22];
    }
    return s;
}

std::string timestamp(input_reader& in) {
    char text[64];
    const unsigned year = (in.byte() << 8 | in.byte()) % 10000;
    int n = std::snprintf(text, sizeof text, "%04u-%02u-%02u%c%02u:%02u:%02u", year,
                          1 + in.byte() % 12, 1 + in.byte() % 31, in.byte() % 2 ? 'T' : 't',
                          in.byte() % 24, in.byte() % 60, in.byte() % 61);
    std::string s(text, static_cast<std::size_t>(n));
    for (unsigned digits = in.byte() % 5, i = 0; i < digits; ++i) {
        s += i == 0 ? "." : "";
        s += static_cast<char>('0' + in.byte() % 10);
    }
    const auto zone = in.byte() % 4;
    if (zone < 2) {
        s += zone == 0 ? 'Z' : 'z';
    } else {
        n = std::snprintf(text, sizeof text, "%c%02u:%02u", zone == 2 ? '+' : '-', in.byte() % 24,
                          in.byte() % 60);
        s.append(text, static_cast<std::size_t>(n));
    }
    return s;
}

std::optional<unsigned> status(input_reader& in) {
    return 100 + ((in.byte() << 8 | in.byte()) % 500);
}

unsigned count(input_reader& in) {
    return static_cast<unsigned>(in.byte()) << 24 | in.byte() << 16 | in.byte() << 8 | in.byte();
}

// An envelope as the proxy builds one, its fields cut out of the input.
env::envelope envelope_from(input_reader& in) {
    env::envelope e;
    e.id = uuid(in);
    e.received_at = timestamp(in);
    e.method = token(in, 16, "GET");
    e.uri = "/" + in.string(64);
    for (auto& c : e.uri) {
        const auto u = static_cast<unsigned char>(c);
        c = u <= 0x20 || u == 0x7f ? '_' : c;
    }
    e.http_version = in.byte() % 2 ? "1.1" : "1.0";
    for (unsigned n = in.byte() % 8, i = 0; i < n; ++i) {
        auto name = token(in, 16, "X");
        auto value = in.string(64);
        std::erase_if(value, [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
        e.headers.emplace_back(std::move(name), std::move(value));
    }
    e.client_ip = in.string(32);
    e.upstream = in.string(32);
    e.failure.kind = static_cast<failure_kind>(in.byte() % 5);
    if (e.failure.kind == failure_kind::upstream_status) {
        e.failure.status = status(in);
    }
    e.failure.sent_upstream = in.byte() % 2;
    e.failure.detail = in.string(64);
    e.attempts = count(in);
    if (in.byte() % 2) {
        auto& d = e.dlq.emplace();
        d.reason = in.string(32);
        if (in.byte() % 2) {
            d.last_status = status(in);
        }
        d.attempts = count(in);
        d.at = timestamp(in);
    }
    e.body = in.rest();
    return e;
}

// What the envelope of `e` holds once it went through its JSON text.
env::envelope as_transported(env::envelope e) {
    for (auto* s : {&e.uri, &e.client_ip, &e.upstream, &e.failure.detail}) {
        *s = lossy_utf8(*s);
    }
    for (auto& [name, value] : e.headers) {
        value = lossy_utf8(value);
    }
    if (e.dlq) {
        e.dlq->reason = lossy_utf8(e.dlq->reason);
    }
    return e;
}

void check_text(std::string_view text) {
    auto parsed = env::parse_envelope(text);
    if (auto* error = std::get_if<env::parse_error>(&parsed)) {
        SPILLWAY_FUZZ_CHECK(!error->reason.empty());
        if (spillway::fuzz::printing()) {
            std::printf("refused: %s\n", error->reason.c_str());
        }
        return;
    }
    const auto& e = std::get<env::envelope>(parsed);
    const auto json = env::to_json(e);
    if (spillway::fuzz::printing()) {
        std::printf("accepted: %s\n", json.c_str());
    }
    auto again = env::parse_envelope(json);
    SPILLWAY_FUZZ_CHECK(std::holds_alternative<env::envelope>(again));
    SPILLWAY_FUZZ_CHECK(same(std::get<env::envelope>(again), e));
    SPILLWAY_FUZZ_CHECK(env::to_json(std::get<env::envelope>(again)) == json);
}

void check_round_trip(input_reader in) {
    const auto built = envelope_from(in);
    const auto json = env::to_json(built);
    SPILLWAY_FUZZ_CHECK(env::is_valid_utf8(json));
    auto parsed = env::parse_envelope(json);
    if (auto* error = std::get_if<env::parse_error>(&parsed)) {
        std::fprintf(stderr, "fuzz: %s\nrefused: %s\n", json.c_str(), error->reason.c_str());
    }
    SPILLWAY_FUZZ_CHECK(std::holds_alternative<env::envelope>(parsed));
    SPILLWAY_FUZZ_CHECK(same(std::get<env::envelope>(parsed), as_transported(built)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_text(std::string_view(reinterpret_cast<const char*>(data), size));
    check_round_trip(input_reader(data, size));
    return 0;
}
