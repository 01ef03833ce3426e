#include "spillway/http/request_rules.hpp"

#include "spillway/http/hop_by_hop.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace spillway::http_util {

namespace {

using status = boost::beast::http::status;

constexpr rejection malformed{status::bad_request, "malformed_request"};
constexpr rejection bad_framing{status::bad_request, "bad_framing"};
constexpr rejection bad_host{status::bad_request, "bad_host"};
constexpr rejection bad_target{status::bad_request, "bad_target"};
constexpr rejection unsupported_coding{status::not_implemented, "unsupported_transfer_coding"};
constexpr rejection connect_refused{status::method_not_allowed, "method_not_allowed"};
constexpr rejection other_version{status::http_version_not_supported, "http_version_not_supported"};

bool is_unreserved_or_sub_delim(unsigned char c) {
    // RFC 3986: ALPHA / DIGIT / "-" / "." / "_" / "~" / "!" / "$" / "&" / "'" / "(" / ")" / "*"
    // / "+" / "," / ";" / "="
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("-._~!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos;
}

// uri-host [ ":" port ] (RFC 9110 §7.2): a reg-name, an IPv4 address or a bracketed IP literal,
// percent-encoding allowed. Userinfo ("user@host") is not part of Host.
bool is_valid_host(std::string_view host) {
    for (const char ch : host) {
        const auto c = static_cast<unsigned char>(ch);
        if (!is_unreserved_or_sub_delim(c) && c != '%' && c != ':' && c != '[' && c != ']') {
            return false;
        }
    }
    return true;
}

// Every byte of a request-target is a visible ASCII character, and a fragment is never sent.
bool is_valid_target_text(std::string_view target) {
    for (const char ch : target) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f || c == '#') {
            return false;
        }
    }
    return true;
}

bool starts_with_scheme(std::string_view target, std::string_view scheme) {
    return target.size() > scheme.size() && iequals(target.substr(0, scheme.size()), scheme);
}

// Absolute-form: "http://authority/path?query" -> authority and the origin-form "/path?query".
std::optional<rejection> to_origin_form(request_parser& parser, std::string_view target) {
    const auto rest = target.substr(target.find("://") + 3);
    const auto authority_end = rest.find_first_of("/?");
    const auto authority = rest.substr(0, authority_end);
    if (authority.empty() || !is_valid_host(authority)) {
        return bad_target;
    }
    std::string origin = authority_end == std::string_view::npos
                             ? std::string("/")
                             : std::string(rest.substr(authority_end));
    if (origin.front() == '?') {
        origin.insert(origin.begin(), '/');
    }
    parser.replace_host(authority);
    parser.get().target(origin);
    return std::nullopt;
}

std::optional<rejection> check_framing(const request_parser& parser) {
    const auto& req = parser.get();
    if (parser.framing_lookalike()) {
        return bad_framing;
    }
    if (parser.transfer_encoding_fields() == 0) {
        return std::nullopt;
    }
    if (req.version() < 11) {
        return bad_framing;  // RFC 9112 §6.1: faulty framing, even beside a Content-Length
    }
    if (req.find(boost::beast::http::field::content_length) != req.end()) {
        return bad_framing;
    }
    if (!parser.last_coding_chunked() || parser.chunked_codings() != 1) {
        return bad_framing;  // RFC 9112 §6.3: the body's length cannot be determined
    }
    if (parser.transfer_codings() != 1) {
        return unsupported_coding;  // e.g. "gzip, chunked": RFC 9112 §6.1 answers 501
    }
    return std::nullopt;
}

std::optional<rejection> check_host(const request_parser& parser) {
    const auto& req = parser.get();
    const unsigned hosts = parser.host_fields();
    if (hosts > 1 || (hosts == 0 && req.version() >= 11)) {
        return bad_host;
    }
    if (hosts == 1 && !is_valid_host(req[boost::beast::http::field::host])) {
        return bad_host;
    }
    return std::nullopt;
}

std::optional<rejection> check_target(request_parser& parser) {
    const auto& req = parser.get();
    const std::string_view target = req.target();
    if (req.method() == boost::beast::http::verb::connect) {
        return connect_refused;  // a tunnel, not a request to forward
    }
    if (!is_valid_target_text(target)) {
        return bad_target;
    }
    if (target.front() == '/') {
        return std::nullopt;
    }
    if (target == "*" && req.method() == boost::beast::http::verb::options) {
        return std::nullopt;
    }
    if (starts_with_scheme(target, "http://") || starts_with_scheme(target, "https://")) {
        return to_origin_form(parser, target);
    }
    return bad_target;
}

}  // namespace

std::optional<rejection> check_request_head(request_parser& parser) {
    if (parser.get().version() / 10 != 1) {
        return other_version;  // Beast reads any digit.digit; only HTTP/1.x is spoken here
    }
    if (auto r = check_framing(parser)) {
        return r;
    }
    if (auto r = check_host(parser)) {
        return r;
    }
    return check_target(parser);
}

std::optional<rejection> rejection_for(const boost::system::error_code& ec) {
    namespace http = boost::beast::http;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        return rejection{status::request_header_fields_too_large, "request_header_too_large"};
    }
    if (ec == http::error::body_limit) {
        return rejection{status::payload_too_large, "request_body_too_large"};
    }
    static const auto& http_category = make_error_code(http::error::bad_target).category();
    if (ec.category() == http_category && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
        return malformed;
    }
    return std::nullopt;  // closed, reset or timed out: nobody to answer
}

std::string rejection_body(const rejection& r) {
    std::string body = R"({"error":")";
    body += r.error;
    body += "\"}";
    return body;
}

}  // namespace spillway::http_util
