// parse_envelope: strict validation of what a replay needs of a version-1 envelope (version, id,
// method, uri, headers, body, body_encoding); every reason names the field, so a dead letter says
// exactly what was wrong. The other members are information: one that is absent or not what it
// should be is read as unknown, never a reason to dead-letter a request that can be replayed.
// Unknown members are ignored (docs/envelope.md, "Compatibility"): additive changes stay
// version 1.

#include "spillway/core/text.hpp"
#include "spillway/envelope/envelope.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <limits>

namespace spillway::envelope {

namespace {

using json = nlohmann::json;

using core::is_token;

// A header value the replay can send without splitting the message: no CR, LF or NUL.
bool is_safe_field_value(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// A request-target: no whitespace or control characters, or the replay's request line breaks.
bool is_request_target(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (unsigned char c : s) {
        if (c <= 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

bool is_uuid(std::string_view s) {
    if (s.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return false;
            }
        } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

// RFC 3339 date-time: 2026-11-26T18:00:00.123Z or with a numeric offset.
bool is_rfc3339(std::string_view s) {
    auto digits = [&](std::size_t pos, std::size_t n, int lo, int hi) {
        if (pos + n > s.size()) {
            return false;
        }
        int v = 0;
        for (std::size_t i = pos; i < pos + n; ++i) {
            if (s[i] < '0' || s[i] > '9') {
                return false;
            }
            v = v * 10 + (s[i] - '0');
        }
        return v >= lo && v <= hi;
    };
    auto at = [&](std::size_t pos, std::string_view chars) {
        return pos < s.size() && chars.find(s[pos]) != std::string_view::npos;
    };
    if (!(digits(0, 4, 0, 9999) && at(4, "-") && digits(5, 2, 1, 12) && at(7, "-") &&
          digits(8, 2, 1, 31) && at(10, "Tt") && digits(11, 2, 0, 23) && at(13, ":") &&
          digits(14, 2, 0, 59) && at(16, ":") && digits(17, 2, 0, 60))) {
        return false;
    }
    std::size_t pos = 19;
    if (at(pos, ".")) {
        const std::size_t start = ++pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            ++pos;
        }
        if (pos == start) {
            return false;
        }
    }
    if (at(pos, "Zz")) {
        return pos + 1 == s.size();
    }
    return at(pos, "+-") && digits(pos + 1, 2, 0, 23) && at(pos + 3, ":") &&
           digits(pos + 4, 2, 0, 59) && pos + 6 == s.size();
}

// Reads the members of one JSON object; the first mistake wins and names "<path>.<member>".
class reader {
public:
    reader(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

    bool failed() const { return error_.has_value(); }
    std::string error() const { return error_.value_or(""); }

    void fail(std::string_view name, std::string_view what) {
        if (!error_) {
            error_ = path_ + std::string(name) + ": " + std::string(what);
        }
    }

    const json* find(std::string_view name) {
        auto it = object_.find(name);
        if (it == object_.end()) {
            fail(name, "missing");
            return nullptr;
        }
        return &*it;
    }

    std::string string(std::string_view name) {
        const json* v = find(name);
        if (v != nullptr && !v->is_string()) {
            fail(name, "expected a string");
        }
        return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
    }

    std::uint64_t count(std::string_view name, std::uint64_t max) {
        const json* v = find(name);
        if (v == nullptr) {
            return 0;
        }
        if (!v->is_number_unsigned() || v->get<std::uint64_t>() > max) {
            fail(name, "expected a non-negative integer");
            return 0;
        }
        return v->get<std::uint64_t>();
    }

    std::optional<unsigned> status(std::string_view name) {
        const json* v = find(name);
        if (v == nullptr || v->is_null()) {
            return std::nullopt;
        }
        if (!v->is_number_unsigned() || v->get<std::uint64_t>() < 100 ||
            v->get<std::uint64_t>() > 599) {
            fail(name, "expected an HTTP status (100-599) or null");
            return std::nullopt;
        }
        return static_cast<unsigned>(v->get<std::uint64_t>());
    }

    bool boolean(std::string_view name) {
        const json* v = find(name);
        if (v != nullptr && !v->is_boolean()) {
            fail(name, "expected true or false");
        }
        return v != nullptr && v->is_boolean() && v->get<bool>();
    }

    const json* object(std::string_view name) {
        const json* v = find(name);
        if (v != nullptr && !v->is_object()) {
            fail(name, "expected an object");
            return nullptr;
        }
        return v;
    }

private:
    const json& object_;
    std::string path_;
    std::optional<std::string> error_;
};

constexpr std::uint64_t max_count = std::numeric_limits<unsigned>::max();

std::optional<std::string> read_failure(const json& object, core::failure& f) {
    reader r(object, "failure.");
    const std::string kind = r.string("kind");
    const std::optional<unsigned> status = r.status("status");
    f.sent_upstream = r.boolean("sent_upstream");
    f.detail = r.string("detail");
    if (r.failed()) {
        return r.error();
    }
    const auto parsed = core::failure_kind_from_string(kind);
    if (!parsed) {
        return "failure.kind: unknown failure kind \"" + kind + "\"";
    }
    f.kind = *parsed;
    if (f.kind == core::failure_kind::upstream_status && !status) {
        return "failure.status: required for upstream_status";
    }
    if (f.kind != core::failure_kind::upstream_status && status) {
        return "failure.status: must be null unless kind is upstream_status";
    }
    f.status = status;
    return std::nullopt;
}

std::optional<std::string> read_dlq(const json& object, dlq_info& d) {
    reader r(object, "dlq.");
    d.reason = r.string("reason");
    d.last_status = r.status("last_status");
    d.attempts = static_cast<unsigned>(r.count("attempts", max_count));
    d.at = r.string("at");
    if (!r.failed() && !is_rfc3339(d.at)) {
        r.fail("at", "expected an RFC 3339 date-time");
    }
    return r.failed() ? std::optional(r.error()) : std::nullopt;
}

std::optional<std::string> read_headers(const json& array, header_list& headers) {
    headers.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
        const json& pair = array[i];
        const std::string where = "headers[" + std::to_string(i) + "]: ";
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
            return where + "expected a [name, value] pair of strings";
        }
        auto name = pair[0].get<std::string>();
        auto value = pair[1].get<std::string>();
        if (!is_token(name)) {
            return where + "invalid header name";
        }
        if (!is_safe_field_value(value)) {
            return where + "value contains CR, LF or NUL";
        }
        headers.emplace_back(std::move(name), std::move(value));
    }
    return std::nullopt;
}

// The request line and its identity: each must be something the replay can send as is.
std::optional<std::string> check_request(const envelope& e) {
    if (!is_uuid(e.id)) {
        return "id: expected a UUID";
    }
    if (!is_token(e.method)) {
        return "method: expected an HTTP method token";
    }
    if (!is_request_target(e.uri)) {
        return "uri: expected a request-target without spaces or control characters";
    }
    return std::nullopt;
}

// An informational member: its value when it is present and a string, else empty.
std::string information(const json& doc, std::string_view name) {
    const auto it = doc.find(name);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The information members (DESIGN.md "The envelope": a reader needs only what read_envelope
// checks). Whatever is absent or malformed is left unknown: empty text, 0 attempts, and a
// failure that says it is unknown and assumes the request may have reached the backend.
void read_information(const json& doc, envelope& e) {
    e.received_at = information(doc, "received_at");
    if (!is_rfc3339(e.received_at)) {
        e.received_at.clear();
    }
    e.http_version = information(doc, "http_version");
    if (e.http_version != "1.1" && e.http_version != "1.0") {
        e.http_version.clear();
    }
    e.client_ip = information(doc, "client_ip");
    e.upstream = information(doc, "upstream");
    e.scheme = information(doc, "scheme");
    if (e.scheme != "http" && e.scheme != "https") {
        e.scheme.clear();
    }
    if (const auto it = doc.find("attempts");
        it != doc.end() && it->is_number_unsigned() && it->get<std::uint64_t>() <= max_count) {
        e.attempts = static_cast<unsigned>(it->get<std::uint64_t>());
    }
    const auto failure = doc.find("failure");
    if (failure == doc.end() || !failure->is_object() || read_failure(*failure, e.failure)) {
        e.failure = core::failure{};
        e.failure.sent_upstream = true;  // not known: the replay must assume it may have
        e.failure.detail = "unknown: the envelope holds no valid failure";
    }
}

std::optional<std::string> read_body(reader& r, envelope& e) {
    std::string body = r.string("body");
    const std::string encoding = r.string("body_encoding");
    if (r.failed()) {
        return r.error();
    }
    if (encoding == "utf8") {
        e.body = std::move(body);
        return std::nullopt;
    }
    if (encoding == "sealed") {
        // Kept as the sealed text: only the replay, with the keys, opens it (docs/sealing.md).
        e.body = std::move(body);
        e.body_sealed = true;
        return std::nullopt;
    }
    if (encoding != "base64") {
        return "body_encoding: expected \"utf8\", \"base64\" or \"sealed\"";
    }
    auto decoded = base64_decode(body);
    if (!decoded) {
        return "body: invalid base64";
    }
    e.body = std::move(*decoded);
    return std::nullopt;
}

std::optional<std::string> read_envelope(const json& doc, envelope& e) {
    reader r(doc, "");
    const json* version = r.find("version");
    if (version == nullptr) {
        return r.error();
    }
    if (!version->is_number_integer()) {
        return "version: expected an integer";
    }
    if (*version != envelope::current_version) {
        return "version: unsupported version " + version->dump();
    }
    e.id = r.string("id");
    e.method = r.string("method");
    e.uri = r.string("uri");
    if (r.failed()) {
        return r.error();
    }
    if (auto err = check_request(e)) {
        return err;
    }
    const json* headers = r.find("headers");
    if (headers != nullptr && !headers->is_array()) {
        r.fail("headers", "expected an array of [name, value] pairs");
    }
    if (r.failed()) {
        return r.error();
    }
    if (auto err = read_headers(*headers, e.headers)) {
        return err;
    }
    if (auto err = read_body(r, e)) {
        return err;
    }
    read_information(doc, e);
    if (doc.contains("dlq")) {
        const json* dlq = r.object("dlq");
        if (dlq == nullptr) {
            return r.error();
        }
        e.dlq.emplace();
        return read_dlq(*dlq, *e.dlq);
    }
    return std::nullopt;
}

}  // namespace

std::variant<envelope, parse_error> parse_envelope(std::string_view json_text) {
    // No exceptions: a malformed document is discarded, not thrown.
    const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        return parse_error{"envelope: not valid JSON"};
    }
    if (!doc.is_object()) {
        return parse_error{"envelope: expected a JSON object"};
    }
    envelope e;
    if (auto err = read_envelope(doc, e)) {
        return parse_error{std::move(*err)};
    }
    return e;
}

}  // namespace spillway::envelope
