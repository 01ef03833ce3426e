#include "spillway/proxy/response_writer.hpp"

#include <charconv>

namespace spillway::proxy {

body_framing choose_framing(const http::response_header<>& res, bool head_request,
                            std::optional<std::uint64_t> content_length, bool client_http11) {
    const unsigned status = res.result_int();
    if (head_request || status / 100 == 1 || status == 204 || status == 304) {
        return body_framing::none;
    }
    if (content_length) {
        return body_framing::content_length;
    }
    return client_http11 ? body_framing::chunked : body_framing::until_close;
}

void build_client_response_head(std::string& out, const http::response_header<>& res,
                                body_framing framing, std::optional<std::uint64_t> content_length,
                                bool keep_alive, bool client_http11) {
    const auto filter = connection_filter_of(res);
    out.append("HTTP/1.1 ");
    append_number(out, res.result_int());
    out.push_back(' ');
    out.append(res.reason().empty() ? http::obsolete_reason(res.result()) : res.reason());
    out.append("\r\n");
    for (const auto& f : res) {
        // Content-Length is rewritten below from the parsed value; HEAD and 304 keep it as
        // metadata about the representation.
        if (f.name() == http::field::content_length || filter.drops(f.name_string())) {
            continue;
        }
        append_header(out, f.name_string(), f.value());
    }
    const bool length_is_metadata = framing == body_framing::none && content_length &&
                                    res.result_int() != 204 && res.result_int() / 100 != 1;
    if (framing == body_framing::content_length || length_is_metadata) {
        out.append("Content-Length: ");
        append_number(out, *content_length);
        out.append("\r\n");
    } else if (framing == body_framing::chunked) {
        out.append("Transfer-Encoding: chunked\r\n");
    }
    if (!keep_alive) {
        out.append("Connection: close\r\n");
    } else if (!client_http11) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

bool build_switching_protocols_head(std::string& out, const http::response_header<>& res) {
    const auto upgrade = res.find(http::field::upgrade);
    if (upgrade == res.end() || http_util::trim_ows(upgrade->value()).empty()) {
        return false;
    }
    const auto filter = connection_filter_of(res);
    out.append("HTTP/1.1 101 ");
    out.append(res.reason().empty() ? std::string_view("Switching Protocols")
                                    : std::string_view(res.reason()));
    out.append("\r\n");
    for (const auto& f : res) {
        if (f.name() == http::field::content_length || filter.drops(f.name_string())) {
            continue;
        }
        append_header(out, f.name_string(), f.value());
    }
    append_header(out, "Connection", "Upgrade");
    append_header(out, "Upgrade", http_util::trim_ows(upgrade->value()));
    out.append("\r\n");
    return true;
}

namespace {

// The head of a response the proxy made itself: its fields are the proxy's own, Content-Length
// and Connection included, so they are written as they are, with the message's HTTP version.
// Hand-written because these answers are the failure path's hot spot, and Beast's serializer
// cost more than the bytes it wrote.
void append_local_head(std::string& out, const client_response& res) {
    out.append(res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_number(out, res.result_int());
    out.push_back(' ');
    out.append(res.reason().empty() ? http::obsolete_reason(res.result()) : res.reason());
    out.append("\r\n");
    for (const auto& f : res) {
        append_header(out, f.name_string(), f.value());
    }
    out.append("\r\n");
}

}  // namespace

bool response_writer::start_relayed(const http::response_header<>& res,
                                    std::optional<std::uint64_t> content_length, bool head_request,
                                    bool client_http11, bool keep_alive) {
    framing_ = choose_framing(res, head_request, content_length, client_http11);
    keep_alive = keep_alive && framing_ != body_framing::until_close;
    head_.clear();
    build_client_response_head(head_, res, framing_, content_length, keep_alive, client_http11);
    head_sent_ = false;
    return keep_alive;
}

void response_writer::start_local(const client_response& res) {
    framing_ = body_framing::content_length;  // the proxy's own answers carry their length
    head_.clear();
    append_local_head(head_, res);
    head_sent_ = false;
}

response_piece::response_piece(const std::string* head, bool chunked, const char* data,
                               std::size_t n, bool last) {
    if (head != nullptr) {
        add(net::buffer(*head));
    }
    if (chunked && n > 0) {
        auto [end, ec] = std::to_chars(size_line_, size_line_ + sizeof size_line_ - 2, n, 16);
        end[0] = '\r';
        end[1] = '\n';
        add(net::buffer(size_line_, static_cast<std::size_t>(end + 2 - size_line_)));
    }
    if (n > 0) {
        add(net::buffer(data, n));
    }
    if (chunked && n > 0) {
        add(net::buffer("\r\n", 2));
    }
    if (chunked && last) {
        add(net::buffer("0\r\n\r\n", 5));
    }
}

response_piece response_writer::next(const char* data, std::size_t n, bool last) {
    const std::string* head = head_sent_ ? nullptr : &head_;
    head_sent_ = true;
    return response_piece(head, framing_ == body_framing::chunked, data, n, last);
}

}  // namespace spillway::proxy
