#include "spillway/http/forwarded.hpp"

#include "spillway/http/hop_by_hop.hpp"

namespace spillway::http_util {

bool forwarded_headers::take(std::string_view name, std::string_view value) {
    // Every name this rule cares about is at least 4 characters, and most headers are not one:
    // a cheap first test keeps the live path's per-header cost down.
    if (name.size() < 4) {
        return false;
    }
    if (iequals(name, "Host")) {
        host_ = value;
        return false;
    }
    if (iequals(name, "X-Forwarded-For")) {
        chain_.append(value);
        chain_.append(", ");
        return true;
    }
    return iequals(name, "X-Forwarded-Proto") || iequals(name, "X-Forwarded-Host");
}

}  // namespace spillway::http_util
