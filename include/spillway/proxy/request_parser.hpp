#pragma once
// Beast's request parser, remembering the order in which header fields arrived. Beast's fields
// container files a repeated field name next to its first occurrence, so X-A, X-B, X-A iterates
// as X-A, X-A, X-B; the envelope promises the client's order, so the session parses with this.

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/container/small_vector.hpp>

namespace spillway::proxy {

namespace http = boost::beast::http;

class ordered_request_parser : public http::request_parser<http::string_body> {
public:
    using field_ref = const http::fields::value_type*;

    // Every field of the parsed head, in arrival order (pointers into the message's fields).
    const boost::container::small_vector<field_ref, 16>& arrival_order() const { return order_; }

private:
    void on_field_impl(http::field name, boost::beast::string_view name_string,
                       boost::beast::string_view value, boost::beast::error_code& ec) override;

    boost::container::small_vector<field_ref, 16> order_;
};

}  // namespace spillway::proxy
