#pragma once
// X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host as Spillway sends them to the backend,
// live and on replay alike (DESIGN.md "The proxy", "The replay consumer"). One rule, so a
// replayed request carries exactly what its live attempt carried:
// - X-Forwarded-For: the client's own X-Forwarded-For values, in order, joined with ", ", then
//   the address of the peer that connected to the proxy;
// - X-Forwarded-Proto: the scheme of the proxy's listener, never the client's;
// - X-Forwarded-Host: the client's Host, when it sent a non-empty one; never the client's.
// The live path feeds it the parsed request's fields, the replay the envelope's headers (which
// hold the client's own values: nothing the proxy adds is captured).

#include <optional>
#include <string>
#include <string_view>

namespace spillway::http_util {

// The scheme of a listener without TLS. Older envelopes carry none: they were all captured on one.
inline constexpr std::string_view default_scheme = "http";

class forwarded_headers {
public:
    // Feeds one client header, in order. True when this hop replaces it (X-Forwarded-For, -Proto
    // or -Host): the caller must not send it as it came. Host is noted, and stays the caller's to
    // send (false).
    bool take(std::string_view name, std::string_view value);

    // Calls emit(name, value) for each header this hop adds: X-Forwarded-Host (only when the
    // client sent a non-empty Host), X-Forwarded-For, X-Forwarded-Proto.
    template <typename Emit>
    void emit(std::string_view client_ip, std::string_view scheme, Emit&& emit) {
        if (host_ && !host_->empty()) {
            emit(std::string_view("X-Forwarded-Host"), *host_);
        }
        chain_.append(client_ip);
        emit(std::string_view("X-Forwarded-For"), std::string_view(chain_));
        emit(std::string_view("X-Forwarded-Proto"), scheme);
    }

    bool has_host() const { return host_.has_value(); }

private:
    std::string chain_;  // the client's X-Forwarded-For values, each followed by ", "
    std::optional<std::string_view> host_;  // views into the caller's header values
};

}  // namespace spillway::http_util
