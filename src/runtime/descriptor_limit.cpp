#include "spillway/runtime/descriptor_limit.hpp"

#include <cstdint>

#include <sys/resource.h>

namespace spillway::runtime {

namespace {

std::uint64_t as_u64(rlim_t v) {
    return v == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(v);
}

}  // namespace

descriptor_limit raise_descriptor_limit() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return {};
    }
    descriptor_limit out{as_u64(lim.rlim_cur), as_u64(lim.rlim_cur), as_u64(lim.rlim_max)};
    if (lim.rlim_cur != lim.rlim_max) {
        rlimit raised{lim.rlim_max, lim.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            out.soft = out.hard;
        }
    }
    return out;
}

std::uint64_t descriptors_needed(std::uint64_t max_connections, unsigned threads) {
    // Per worker: a listener, an epoll and a few Asio descriptors; then the admin listener,
    // librdkafka (a socket per broker, wake-up pipes), SQLite's files, stdio and some slack.
    constexpr std::uint64_t fixed = 128;
    return 2 * max_connections + 4 * std::uint64_t{threads} + fixed;
}

}  // namespace spillway::runtime
