#include "support/ports.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spillway::test {

namespace {

constexpr std::uint16_t first_port = 20000;
constexpr std::uint16_t port_count = 12000;  // up to 31999, below the ephemeral range

bool bindable(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

std::uint16_t free_port() {
    // Spaced by pid so that the test processes ctest runs side by side start far apart.
    static std::atomic<unsigned> next{static_cast<unsigned>(::getpid()) * 97u};
    for (unsigned tries = 0; tries < port_count; ++tries) {
        const auto port = static_cast<std::uint16_t>(first_port + next.fetch_add(1) % port_count);
        if (bindable(port)) {
            return port;
        }
    }
    throw std::runtime_error("no free loopback port in 20000-31999");
}

std::optional<std::uint16_t> admin_port_of(const nlohmann::json& config) {
    const auto admin = config.find("admin");
    if (admin == config.end() || !admin->contains("listen")) {
        return std::nullopt;
    }
    const auto listen = (*admin)["listen"].get<std::string>();
    if (listen == "off") {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(std::stoul(listen.substr(listen.rfind(':') + 1)));
}

}  // namespace spillway::test
