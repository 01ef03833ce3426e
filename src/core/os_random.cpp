#include "spillway/core/os_random.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/random.h>
#include <unistd.h>

namespace spillway::core {

namespace {

constexpr std::size_t batch_bytes = 4096;

// Not through the logger: the log may not be set up, or be what is failing.
[[noreturn]] void fatal(int error) {
    const std::string message = "spillway: fatal: getrandom(2) failed (" +
                                std::string(std::strerror(error)) +
                                "): there is no safe source of random request ids; stopping\n";
    [[maybe_unused]] const auto ignored = ::write(2, message.data(), message.size());
    std::abort();
}

// getrandom returns at most 256 bytes uninterruptibly once the pool is initialised; a larger
// request can be cut short or interrupted by a signal, so both are retried.
void fill_from_os(unsigned char* out, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::getrandom(out, size, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fatal(errno);
        }
        out += n;
        size -= static_cast<std::size_t>(n);
    }
}

struct batch {
    std::array<unsigned char, batch_bytes> bytes;
    std::size_t used = batch_bytes;  // empty until the first draw
};

}  // namespace

void os_random_bytes(void* out, std::size_t size) {
    thread_local batch pool;
    auto* to = static_cast<unsigned char*>(out);
    while (size > 0) {
        if (pool.used == pool.bytes.size()) {
            fill_from_os(pool.bytes.data(), pool.bytes.size());
            pool.used = 0;
        }
        const std::size_t n = std::min(size, pool.bytes.size() - pool.used);
        std::memcpy(to, pool.bytes.data() + pool.used, n);
        // Handed-out bytes are wiped, so a later look at this thread's memory cannot recover ids.
        std::memset(pool.bytes.data() + pool.used, 0, n);
        pool.used += n;
        to += n;
        size -= n;
    }
}

}  // namespace spillway::core
