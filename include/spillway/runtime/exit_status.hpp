#pragma once
// The exit statuses of every Spillway binary, in one place (README.md, "Exit statuses").

#include <functional>
#include <string>

namespace spillway::runtime {

enum exit_status : int {
    exit_ok = 0,  // stopped by SIGTERM or SIGINT; --help, --version, --check-config OK
    exit_failure = 1,  // a runtime failure: a listener that cannot bind, a loop that broke
    exit_config_error = 2,  // a configuration or usage mistake; the message names the key or flag
};

// Runs the part of a main after the command line and turns what escapes it into an exit status:
// a config::config_error (a key the configuration got wrong, or one librdkafka refused when the
// client was created) is logged and exits 2; any other exception is a runtime failure, logged,
// exit 1. Otherwise `body`'s own status. Logs through `logger_name`, flushed before it returns.
int run_guarded(const std::string& logger_name, const std::function<int()>& body);

}  // namespace spillway::runtime
