#pragma once
// The request parser every listener shares (the proxy, the admin listeners, the sample API):
// Beast's parser with the rules RFC 9112 asks of a server that Beast leaves to its user.
//
// - Header fields are remembered in the order they arrived. Beast's fields container files a
//   repeated name next to its first occurrence, so X-A, X-B, X-A iterates as X-A, X-A, X-B; the
//   envelope promises the client's order.
// - Trailer fields are never merged into the header: they are checked and counted, then dropped
//   (RFC 9110 §6.5.1 lets a recipient discard them). Merged, a trailer `Host` would reach the
//   backend as a header that no check of the head ever saw.
// - Chunk extensions and trailer fields together count against one budget, the header limit:
//   Beast bounds only the header block.
// - Transfer-Encoding and Host are tallied as they arrive, for check_request_head
//   (request_rules.hpp), which decides before any body byte is read.
// - Nothing throws: a field Beast's container cannot hold (a name or value over 64 KiB) is a
//   header_limit error, not a std::length_error escaping into the I/O loop.

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/container/small_vector.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spillway::http_util {

namespace http = boost::beast::http;

class request_parser : public http::request_parser<http::string_body> {
public:
    using field_ref = const http::fields::value_type*;

    request_parser();

    // Sets Beast's header limit and the budget of chunk extensions and trailers alike.
    void limit_header_bytes(std::size_t bytes);

    // Every field of the parsed head, in arrival order (pointers into the message's fields).
    const boost::container::small_vector<field_ref, 16>& arrival_order() const { return order_; }

    // What the head held, for check_request_head.
    unsigned host_fields() const { return host_fields_; }
    unsigned transfer_encoding_fields() const { return transfer_encoding_fields_; }
    // How many codings all Transfer-Encoding fields list, how many of them are `chunked`, and
    // whether the last one is.
    unsigned transfer_codings() const { return transfer_codings_; }
    unsigned chunked_codings() const { return chunked_codings_; }
    bool last_coding_chunked() const { return last_coding_chunked_; }
    // A field named like a framing field but for '_' in place of '-' ("Transfer_Encoding"):
    // servers that map '_' to '-' (CGI, many frameworks) would frame the message otherwise.
    bool framing_lookalike() const { return framing_lookalike_; }
    // Trailer fields seen (and dropped) so far.
    unsigned trailer_fields() const { return trailer_fields_; }

    // Replaces the single Host field's value (absolute-form: the target's authority wins),
    // keeping its place in arrival order.
    void replace_host(std::string_view authority);

private:
    void on_field_impl(http::field name, boost::beast::string_view name_string,
                       boost::beast::string_view value, boost::beast::error_code& ec) override;
    void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                              boost::beast::error_code& ec) override;
    void on_trailer_field(boost::beast::string_view name_string, boost::beast::string_view value,
                          boost::beast::error_code& ec);
    void tally_transfer_codings(std::string_view value);
    // Takes `bytes` from the extensions-and-trailers budget; false when it is spent.
    bool spend(std::size_t bytes);

    boost::container::small_vector<field_ref, 16> order_;
    std::size_t framing_budget_ = 8192;  // Beast's default header limit
    unsigned host_fields_ = 0;
    unsigned transfer_encoding_fields_ = 0;
    unsigned transfer_codings_ = 0;
    unsigned chunked_codings_ = 0;
    bool last_coding_chunked_ = false;
    unsigned trailer_fields_ = 0;
    bool framing_lookalike_ = false;
};

}  // namespace spillway::http_util
