#include "spillway/replay/request_builder.hpp"

#include "spillway/core/text.hpp"
#include "spillway/http/forwarded.hpp"
#include "spillway/http/hop_by_hop.hpp"

#include <boost/asio/ip/address.hpp>

namespace spillway::replay {

namespace {

constexpr std::string_view attempt_header = "X-Spillway-Replay-Attempt";

// Headers the replay never copies: it frames the body itself, and owns its connection. Host stays
// whatever Connection lists, as on the live attempt (message_heads.cpp).
bool replay_drops(std::string_view name, const http_util::connection_filter& connection) {
    return http_util::is_hop_by_hop(name) ||
           (connection.drops(name) && !http_util::iequals(name, "Host")) ||
           http_util::iequals(name, "Content-Length") || http_util::iequals(name, "Expect") ||
           http_util::iequals(name, attempt_header);
}

std::optional<rejection> check_head(const envelope::envelope& e) {
    if (!core::is_token(e.method)) {
        return rejection{"invalid request: method is not a token"};
    }
    if (!is_origin_form(e.uri)) {
        return rejection{"invalid request: uri is not origin-form"};
    }
    for (std::size_t i = 0; i < e.headers.size(); ++i) {
        const auto& [name, value] = e.headers[i];
        if (!core::is_token(name)) {
            return rejection{"invalid request: header " + std::to_string(i) +
                             " name is not a token"};
        }
        if (!is_field_value(value)) {
            return rejection{"invalid request: header " + std::to_string(i) +
                             " value has a control character"};
        }
    }
    return std::nullopt;
}

// The peer address the live attempt put last in X-Forwarded-For. Anything but an IP address
// (absent in the envelope, or garbled) is "unknown", as the proxy records a peer it cannot name.
std::string_view client_ip_of(const envelope::envelope& e) {
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(e.client_ip, ec);
    return ec || e.client_ip.empty() ? std::string_view("unknown") : std::string_view(e.client_ip);
}

}  // namespace

bool is_field_value(std::string_view s) {
    // RFC 9110 field-value: visible characters, obs-text, SP and HTAB; any other control
    // character (CR, LF and NUL above all) could end the header early.
    for (unsigned char c : s) {
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

bool is_origin_form(std::string_view target) {
    if (target.empty() || target.front() != '/') {
        return false;
    }
    for (unsigned char c : target) {
        if (c <= 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

std::variant<outgoing_request, rejection> build_request(const envelope::envelope& e,
                                                        std::string_view default_host,
                                                        std::string_view idempotency_header) {
    if (auto bad = check_head(e)) {
        return *bad;
    }
    http_util::connection_filter connection;
    for (const auto& [name, value] : e.headers) {
        if (http_util::iequals(name, "Connection")) {
            connection.add_connection_value(value);
        }
    }
    outgoing_request out;
    out.method = e.method;
    out.target = e.uri;
    out.body = e.body;
    http_util::forwarded_headers forwarded;
    bool has_host = false;
    bool has_key = false;
    for (const auto& [name, value] : e.headers) {
        if (replay_drops(name, connection)) {
            continue;
        }
        if (forwarded.take(name, value)) {
            continue;  // the client's own X-Forwarded-*: replaced below, as on the live attempt
        }
        if (http_util::iequals(name, "Host")) {
            if (has_host) {
                return rejection{"invalid request: more than one Host header"};
            }
            has_host = true;
        }
        if (!has_key && !idempotency_header.empty() &&
            http_util::iequals(name, idempotency_header)) {
            has_key = true;
            out.idempotency_key = value;
        }
        out.headers.emplace_back(name, value);
    }
    if (!has_host) {
        out.headers.insert(out.headers.begin(), {"Host", std::string(default_host)});
    }
    const std::string_view scheme = e.scheme.empty() ? http_util::default_scheme : e.scheme;
    forwarded.emit(client_ip_of(e), scheme, [&out](std::string_view name, std::string_view value) {
        out.headers.emplace_back(name, value);
    });
    if (!has_key && !idempotency_header.empty()) {
        out.idempotency_key = e.id;
        out.headers.emplace_back(std::string(idempotency_header), e.id);
    }
    return out;
}

void append_wire_head(std::string& out, const outgoing_request& r, unsigned attempt) {
    auto line = [&out](std::string_view name, std::string_view value) {
        out.append(name).append(": ").append(value).append("\r\n");
    };
    out.append(r.method).append(" ").append(r.target).append(" HTTP/1.1\r\n");
    for (const auto& [name, value] : r.headers) {
        line(name, value);
    }
    line(attempt_header, std::to_string(attempt));
    const bool carries_body = r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
    if (!r.body.empty() || carries_body) {
        line("Content-Length", std::to_string(r.body.size()));
    }
    out.append("\r\n");
}

}  // namespace spillway::replay
