#pragma once
// Protocol upgrades (RFC 9110 §7.8), e.g. WebSocket: a request that asks the connection to switch
// protocols. The proxy forwards it with its Upgrade and Connection headers (which are otherwise
// hop-by-hop and dropped) and, after the backend's 101, tunnels the bytes both ways.

#include <boost/beast/http/message.hpp>

#include <optional>
#include <string_view>

namespace spillway::http_util {

// The Upgrade header's value when the request asks to switch protocols: HTTP/1.1 (a server
// ignores Upgrade in HTTP/1.0), "upgrade" among the Connection tokens, and one non-empty Upgrade
// header. nullopt otherwise: an Upgrade header that Connection does not name is dropped like any
// hop-by-hop header, and two Upgrade headers are not an upgrade (which one would we send?).
std::optional<std::string_view> requested_upgrade(const boost::beast::http::request_header<>& req);

}  // namespace spillway::http_util
