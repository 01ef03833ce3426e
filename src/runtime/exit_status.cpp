#include "spillway/runtime/exit_status.hpp"

#include "spillway/config/config.hpp"
#include "spillway/runtime/logging.hpp"

#include <exception>

namespace spillway::runtime {

int run_guarded(const std::string& logger_name, const std::function<int()>& body) {
    int status = exit_failure;
    try {
        status = body();
    } catch (const config::config_error& e) {
        logger(logger_name)->critical("configuration error: {}", e.what());
        status = exit_config_error;
    } catch (const std::exception& e) {
        // Start-up only in practice: the data path reports its errors as values.
        logger(logger_name)->critical("cannot start: {}", e.what());
        status = exit_failure;
    }
    shutdown_logging();  // what the outputs take within its bound; never hangs the exit
    return status;
}

}  // namespace spillway::runtime
