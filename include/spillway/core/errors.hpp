#pragma once
// Spillway's own error codes, for what no system or Asio code says; they travel as
// boost::system::error_code on the data path (no exceptions there). A timeout whose phase
// matters gets a code of its own, so callers can branch on which phase failed.

#include <boost/system/error_code.hpp>

namespace spillway::core {

enum class errc {
    connect_timeout = 1,  // the backend did not accept the connection (or TLS) in time
    tls_unavailable = 2,  // an https backend, but no TLS client context (logged at start)
};

const boost::system::error_category& spillway_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), spillway_category()};
}

}  // namespace spillway::core

template <>
struct boost::system::is_error_code_enum<spillway::core::errc> : std::true_type {};
