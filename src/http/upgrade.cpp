#include "spillway/http/upgrade.hpp"

#include "spillway/http/hop_by_hop.hpp"

#include <iterator>

namespace spillway::http_util {

namespace http = boost::beast::http;

std::optional<std::string_view> requested_upgrade(const http::request_header<>& req) {
    if (req.version() < 11) {
        return std::nullopt;
    }
    connection_filter connection;
    const auto [tokens_first, tokens_last] = req.equal_range(http::field::connection);
    for (auto it = tokens_first; it != tokens_last; ++it) {
        connection.add_connection_value(it->value());
    }
    if (!connection.has_token("upgrade")) {
        return std::nullopt;
    }
    const auto [first, last] = req.equal_range(http::field::upgrade);
    if (first == last || std::next(first) != last) {
        return std::nullopt;
    }
    const std::string_view protocol = trim_ows(first->value());
    if (protocol.empty()) {
        return std::nullopt;
    }
    return protocol;
}

}  // namespace spillway::http_util
