#include "spillway/net/accept_pause.hpp"

#include <cerrno>

namespace spillway::netx {

bool is_resource_exhaustion(const boost::system::error_code& ec) {
    if (ec.category() != boost::system::system_category()) {
        return false;
    }
    switch (ec.value()) {
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            return true;
        default:
            return false;
    }
}

bool is_per_connection_accept_error(const boost::system::error_code& ec) {
    if (ec.category() != boost::system::system_category()) {
        return false;
    }
    switch (ec.value()) {
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case EINTR:
        case EAGAIN:
            return true;
        default:
            return false;
    }
}

}  // namespace spillway::netx
