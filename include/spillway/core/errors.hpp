#pragma once
// Spillway's own error codes. Each timeout has its own code so callers can branch on which phase
// failed; they travel as boost::system::error_code on the data path (no exceptions there).

#include <boost/system/error_code.hpp>

namespace spillway::core {

enum class errc {
    header_timeout = 1,    // the client did not finish its request head in time (slowloris)
    body_timeout,          // the client did not finish its request body in time
    idle_timeout,          // a keep-alive connection stayed idle too long
    connect_timeout,       // the backend did not accept the connection in time
    response_timeout,      // the backend sent no response head in time
    upstream_closed,       // the backend closed the connection before a complete response head
    too_many_connections,  // limits.max_connections reached
    shutting_down,         // the daemon is stopping
};

const boost::system::error_category& spillway_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), spillway_category()};
}

}  // namespace spillway::core

template <>
struct boost::system::is_error_code_enum<spillway::core::errc> : std::true_type {};
