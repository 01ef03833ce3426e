#pragma once
// The command line every binary shares: --config FILE, --check-config, --version, --help, plus
// the binary's own flags. Loading the configuration here keeps "exit 2 naming the key" uniform.

#include "spillway/config/config.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spillway::runtime {

struct cli_flag {
    std::string name;  // "--tail"
    std::string value_name;  // "FORMAT" if it takes a value, empty for a switch
    std::string help;
};

struct program_info {
    std::string name;  // "spillway-replay"
    std::string summary;  // one line
    std::vector<cli_flag> flags;
};

struct cli_result {
    config::config cfg;
    std::optional<std::string> config_path;  // --config or $SPILLWAY_CONFIG; none: the defaults
    std::map<std::string, std::string> flags;  // own flags given: name -> value ("" for switches)

    bool has(const std::string& flag) const { return flags.contains(flag); }
};

// Parses argv and loads the configuration (--config FILE, else $SPILLWAY_CONFIG, else the
// built-in defaults, always with environment overrides). Handles --help and --version (exit 0),
// --check-config (exit 0 when valid), and every mistake (a message on stderr, exit 2) itself:
// when it returns, the program runs.
cli_result parse_command_line(int argc, char** argv, const program_info& info);

// The configuration read again the way parse_command_line read it (a reload, SIGHUP): the same
// file and the environment as it is now. Throws config::config_error naming the key.
config::config reload_configuration(const cli_result& cli);

}  // namespace spillway::runtime
