#include "spillway/proxy/request_parser.hpp"

#include <iterator>

namespace spillway::proxy {

void ordered_request_parser::on_field_impl(http::field name, boost::beast::string_view name_string,
                                           boost::beast::string_view value,
                                           boost::beast::error_code& ec) {
    ec = {};
    auto& fields = get().base();
    fields.insert(name, name_string, value);
    // A new name is appended at the end (the common case, O(1)); a repeated one is filed after
    // its last occurrence, which equal_range finds.
    auto last = std::prev(fields.end());
    if (last->name_string() != name_string || last->value() != value) {
        last = std::prev(fields.equal_range(name_string).second);
    }
    order_.push_back(&*last);
}

}  // namespace spillway::proxy
