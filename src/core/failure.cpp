#include "spillway/core/failure.hpp"

#include <array>

namespace spillway::core {

namespace {

struct kind_names {
    failure_kind kind;
    std::string_view name;
    std::string_view code;
};

constexpr std::array<kind_names, 5> names{{
    {failure_kind::connect_error, "connect_error", "UF"},
    {failure_kind::timeout, "timeout", "UT"},
    {failure_kind::upstream_status, "upstream_status", "US"},
    {failure_kind::upstream_reset, "upstream_reset", "UR"},
    {failure_kind::circuit_open, "circuit_open", "UO"},
}};

}  // namespace

std::string_view to_string(failure_kind kind) {
    return names[static_cast<std::size_t>(kind)].name;
}

std::string_view access_code(failure_kind kind) {
    return names[static_cast<std::size_t>(kind)].code;
}

std::optional<failure_kind> failure_kind_from_string(std::string_view name) {
    for (const auto& entry : names) {
        if (entry.name == name) {
            return entry.kind;
        }
    }
    return std::nullopt;
}

}  // namespace spillway::core
