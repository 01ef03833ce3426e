#include "spillway/upstream/stale_check.hpp"

#include <openssl/ssl.h>

#include <cerrno>

#include <sys/socket.h>

namespace spillway::upstream {

bool is_stale(backend_stream& stream, const boost::beast::flat_buffer& buffer) {
    if (buffer.size() != 0) {
        return true;
    }
    // Decrypted or undecrypted bytes TLS already took off the socket count as unsolicited too.
    if (auto* tls = stream.tls(); tls != nullptr && SSL_has_pending(tls->native_handle())) {
        return true;
    }
    char probe;
    const ssize_t n = ::recv(stream.socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    // n > 0: unsolicited bytes; n == 0: EOF; n < 0 but for "nothing to read": reset or closed.
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace spillway::upstream
