#include "spillway/http/hop_by_hop.hpp"

#include <array>

namespace spillway::http_util {

namespace {

constexpr std::array<std::string_view, 7> fixed_hop_by_hop{
    "connection", "keep-alive",        "proxy-connection", "te",
    "trailer",    "transfer-encoding", "upgrade"};

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool is_hop_by_hop(std::string_view name) {
    for (auto h : fixed_hop_by_hop) {
        if (iequals(name, h)) {
            return true;
        }
    }
    return false;
}

void connection_filter::add_connection_value(std::string_view value) {
    while (!value.empty()) {
        auto comma = value.find(',');
        auto token = trim_ows(value.substr(0, comma));
        if (!token.empty()) {
            tokens_.push_back(token);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
}

bool connection_filter::drops(std::string_view name) const {
    return is_hop_by_hop(name) || has_token(name);
}

bool connection_filter::has_token(std::string_view token) const {
    for (auto t : tokens_) {
        if (iequals(t, token)) {
            return true;
        }
    }
    return false;
}

}  // namespace spillway::http_util
