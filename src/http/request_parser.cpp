#include "spillway/http/request_parser.hpp"

#include "spillway/http/hop_by_hop.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string>

namespace spillway::http_util {

namespace {

bool is_framing_lookalike(std::string_view name) {
    if (name.find('_') == std::string_view::npos) {
        return false;
    }
    std::string dashed(name);
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    return iequals(dashed, "content-length") || iequals(dashed, "transfer-encoding");
}

}  // namespace

request_parser::request_parser() {
    limit_header_bytes(framing_budget_);
}

void request_parser::limit_header_bytes(std::size_t bytes) {
    header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(bytes, UINT32_MAX)));
    framing_budget_ = bytes;
}

bool request_parser::spend(std::size_t bytes) {
    if (bytes > framing_budget_) {
        framing_budget_ = 0;
        return false;
    }
    framing_budget_ -= bytes;
    return true;
}

void request_parser::tally_transfer_codings(std::string_view value) {
    // transfer-coding list (RFC 9112 §6.1, RFC 9110 §5.6.1): empty elements are allowed and
    // skipped. `chunked` takes no parameters, so "chunked;x=y" is some other coding.
    while (!value.empty()) {
        const auto comma = value.find(',');
        const auto element = trim_ows(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
        if (element.empty()) {
            continue;
        }
        ++transfer_codings_;
        last_coding_chunked_ = iequals(element, "chunked");
        chunked_codings_ += last_coding_chunked_ ? 1 : 0;
    }
}

void request_parser::on_field_impl(http::field name, boost::beast::string_view name_string,
                                   boost::beast::string_view value, boost::beast::error_code& ec) {
    ec = {};
    if (is_header_done()) {
        on_trailer_field(name_string, value, ec);
        return;
    }
    if (name == http::field::unknown && is_framing_lookalike(name_string)) {
        framing_lookalike_ = true;
    }
    if (name == http::field::host) {
        ++host_fields_;
    } else if (name == http::field::transfer_encoding) {
        ++transfer_encoding_fields_;
        tally_transfer_codings(value);
    }
    auto& fields = get().base();
    try {
        fields.insert(name, name_string, value);
    } catch (const std::length_error&) {
        // Beast's container holds names and values up to 64 KiB; a header limit above that
        // must not let one field throw out of the parser.
        ec = http::error::header_limit;
        return;
    }
    // A new name is appended at the end (the common case, O(1)); a repeated one is filed after
    // its last occurrence, which equal_range finds.
    auto last = std::prev(fields.end());
    if (last->name_string() != name_string || last->value() != value) {
        last = std::prev(fields.equal_range(name_string).second);
    }
    order_.push_back(&*last);
}

void request_parser::on_trailer_field(boost::beast::string_view name_string,
                                      boost::beast::string_view value,
                                      boost::beast::error_code& ec) {
    ++trailer_fields_;
    // ": " and CRLF, as the header limit counts them.
    if (!spend(name_string.size() + value.size() + 4)) {
        ec = http::error::header_limit;
    }
}

void request_parser::on_chunk_header_impl(std::uint64_t, boost::beast::string_view extensions,
                                          boost::beast::error_code& ec) {
    ec = {};
    if (!spend(extensions.size())) {
        ec = http::error::header_limit;
    }
}

void request_parser::replace_host(std::string_view authority) {
    auto& fields = get().base();
    const auto old = fields.find(http::field::host);
    const field_ref old_ref = old == fields.end() ? nullptr : &*old;
    fields.set(http::field::host, authority);
    const field_ref new_ref = &*fields.find(http::field::host);
    for (auto& ref : order_) {
        if (ref == old_ref) {
            ref = new_ref;
            return;
        }
    }
    order_.push_back(new_ref);
}

}  // namespace spillway::http_util
