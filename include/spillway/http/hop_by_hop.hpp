#pragma once
// Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, so a proxy never
// forwards them: the fixed set, plus every header named in a Connection header.

#include <boost/container/small_vector.hpp>

#include <string_view>

namespace spillway::http_util {

// The fixed set: Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
// Upgrade. Case-insensitive.
bool is_hop_by_hop(std::string_view name);

// Case-insensitive ASCII comparison, for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

// `s` without the optional whitespace (spaces and tabs, RFC 9110 OWS) around it, as list
// elements of a header value (Connection, X-Forwarded-For) are written.
std::string_view trim_ows(std::string_view s);

// Collects the tokens of Connection header values ("keep-alive, X-Foo" -> keep-alive, X-Foo) and
// answers whether a header must be dropped when forwarding.
class connection_filter {
public:
    // Adds the tokens of one Connection header value.
    void add_connection_value(std::string_view value);

    // Whether a header with this name must not be forwarded.
    bool drops(std::string_view name) const;

    // Whether the Connection header held this token (e.g. "close", "keep-alive").
    bool has_token(std::string_view token) const;

private:
    // Views into the message's header values; inline, since one is built for every message.
    boost::container::small_vector<std::string_view, 4> tokens_;
};

}  // namespace spillway::http_util
