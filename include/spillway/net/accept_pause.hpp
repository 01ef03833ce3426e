#pragma once
// What an accept loop does when the process runs out of descriptors or memory. accept() then
// fails while the connection stays queued, so the listener is readable again at once: retrying
// at once spins a core and gets nowhere (it was seen at 87% of one). Instead the loop pauses
// (100 ms, as nginx does) and tries again; sessions that end meanwhile give descriptors back.
// One episode runs from the first such error to the next connection accepted; it is logged and
// counted once at its start and once at its end, never per attempt.

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <utility>

namespace spillway::netx {

// EMFILE, ENFILE, ENOBUFS or ENOMEM: the proxy's own shortage, not the peer's doing.
bool is_resource_exhaustion(const boost::system::error_code& ec);

// An accept error that concerns only the connection being accepted (it was reset before accept,
// or a firewall refused it): the next one is taken at once. Every other accept error pauses the
// loop: resource exhaustion, and anything unexpected, which would otherwise spin as well.
bool is_per_connection_accept_error(const boost::system::error_code& ec);

class accept_pause {
public:
    static constexpr std::chrono::milliseconds pause{100};

    // An accept failed for lack of resources. True when this starts an episode (log and count
    // it); the caller pauses either way.
    bool on_exhausted() {
        ++attempts_;
        return !std::exchange(in_episode_, true);
    }

    // A connection was accepted: the failed attempts of the episode this ends (0: none ran).
    std::uint64_t on_accepted() {
        in_episode_ = false;
        return std::exchange(attempts_, 0);
    }

private:
    bool in_episode_ = false;
    std::uint64_t attempts_ = 0;
};

}  // namespace spillway::netx
