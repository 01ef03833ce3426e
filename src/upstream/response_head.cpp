#include "spillway/upstream/response_head.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

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

netx::task<head_result> read_response_head(netx::timed_socket& stream,
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
