#include "spillway/core/errors.hpp"

#include <string>

namespace spillway::core {

namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "spillway"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::connect_timeout:
                return "connect to backend timed out";
            case errc::tls_unavailable:
                return "no TLS client context for the https backend (see the error logged at "
                       "start)";
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
