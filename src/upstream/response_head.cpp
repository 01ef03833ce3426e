#include "spillway/upstream/response_head.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <stdexcept>

namespace spillway::upstream {

namespace http = boost::beast::http;

namespace {

// A backend may send a few interim responses (RFC 9110 §15.2); one that sends more than this is
// answering nonsense, and reading them until the deadline would only cost time.
constexpr int max_interim_responses = 8;

bool is_interim(unsigned status) {
    return status >= 100 && status <= 199 && status != 101;
}

}  // namespace

void response_parser::header_limit(std::uint32_t bytes) {
    http::response_parser<http::buffer_body>::header_limit(bytes);
    framing_budget_ = bytes;
}

bool response_parser::spend(std::size_t bytes) {
    if (bytes > framing_budget_) {
        framing_budget_ = 0;
        return false;
    }
    framing_budget_ -= bytes;
    return true;
}

void response_parser::on_field_impl(http::field name, boost::beast::string_view name_string,
                                    boost::beast::string_view value, boost::beast::error_code& ec) {
    ec = {};
    if (is_header_done()) {
        // A trailer: counted, then dropped. ": " and CRLF, as the header limit counts them.
        if (!spend(name_string.size() + value.size() + 4)) {
            ec = http::error::header_limit;
        }
        return;
    }
    try {
        get().base().insert(name, name_string, value);
    } catch (const std::length_error&) {
        ec = http::error::header_limit;  // a field Beast's container cannot hold
    }
}

void response_parser::on_chunk_header_impl(std::uint64_t, boost::beast::string_view extensions,
                                           boost::beast::error_code& ec) {
    ec = {};
    if (!spend(extensions.size())) {
        ec = http::error::header_limit;
    }
}

netx::task<head_result> read_response_head(backend_stream& stream,
                                           boost::beast::flat_buffer& buffer,
                                           std::optional<response_parser>& parser,
                                           const head_options& options) {
    head_result out;
    bound_response_buffer(buffer);
    for (int interim = 0; interim <= max_interim_responses; ++interim) {
        parser.emplace();
        parser->body_limit(boost::none);  // the body is streamed, never held whole
        parser->header_limit(options.header_limit);
        parser->skip(options.head_request);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, *parser, netx::use_task);
        out.received = out.received || parser->got_some() || buffer.size() > 0;
        if (ec) {
            out.error = stream.translate(ec);
            co_return out;
        }
        if (!is_interim(parser->get().result_int())) {
            co_return out;
        }
    }
    out.error = http::error::bad_status;
    co_return out;
}

}  // namespace spillway::upstream
