#include "spillway/upstream/stale_check.hpp"

#include <cerrno>

#include <sys/socket.h>

namespace spillway::upstream {

bool is_stale(netx::timed_socket& stream, const boost::beast::flat_buffer& buffer) {
    if (buffer.size() != 0) {
        return true;
    }
    char probe;
    const ssize_t n = ::recv(stream.socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    // n > 0: unsolicited bytes; n == 0: EOF; n < 0 but for "nothing to read": reset or closed.
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace spillway::upstream
