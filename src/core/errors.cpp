#include "spillway/core/errors.hpp"

#include <string>

namespace spillway::core {

namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "spillway"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::header_timeout: return "client request head timed out";
            case errc::body_timeout: return "client request body timed out";
            case errc::idle_timeout: return "idle keep-alive connection timed out";
            case errc::connect_timeout: return "connect to backend timed out";
            case errc::response_timeout: return "backend response timed out";
            case errc::upstream_closed: return "backend closed the connection before responding";
            case errc::too_many_connections: return "too many client connections";
            case errc::shutting_down: return "shutting down";
        }
        return "unknown spillway error";
    }
};

}  // namespace

const boost::system::error_category& spillway_category() noexcept {
    static const category instance;
    return instance;
}

}  // namespace spillway::core
