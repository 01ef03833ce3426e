#include "spillway/runtime/cli.hpp"

#include "spillway/runtime/exit_status.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace spillway::runtime {

namespace {

void print_help(const program_info& info) {
    std::cout << info.name << " " << SPILLWAY_VERSION << " - " << info.summary << "\n\n"
              << "usage: " << info.name << " [--config FILE] [options]\n\n"
              << "  --config FILE     the JSON configuration (default: $SPILLWAY_CONFIG, else\n"
              << "                    built-in defaults); SPILLWAY_* variables override it\n"
              << "  --check-config    validate the configuration and exit (0 valid, 2 invalid)\n"
              << "  --version         print the version and exit\n"
              << "  --help            print this help and exit\n";
    for (const auto& flag : info.flags) {
        std::string left = flag.name + (flag.value_name.empty() ? "" : " " + flag.value_name);
        left.resize(std::max<std::size_t>(left.size() + 1, 18), ' ');
        std::cout << "  " << left << flag.help << "\n";
    }
}

[[noreturn]] void usage_error(const program_info& info, const std::string& what) {
    std::cerr << info.name << ": " << what << " (see --help)\n";
    std::exit(exit_config_error);
}

// What the arguments asked for, before the configuration is loaded.
struct arguments {
    std::optional<std::string> config_path;
    bool check_only = false;
    std::map<std::string, std::string> flags;
};

const cli_flag* find_flag(const program_info& info, const std::string& name) {
    for (const auto& flag : info.flags) {
        if (flag.name == name) {
            return &flag;
        }
    }
    return nullptr;
}

arguments parse_arguments(int argc, char** argv, const program_info& info) {
    arguments args;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::optional<std::string> inline_value;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            inline_value = arg.substr(eq + 1);
            arg.resize(eq);
        }
        auto take_value = [&]() -> std::string {
            if (inline_value) {
                return *inline_value;
            }
            if (i + 1 >= argc) {
                usage_error(info, arg + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            print_help(info);
            std::exit(exit_ok);
        } else if (arg == "--version") {
            std::cout << info.name << " " << SPILLWAY_VERSION << "\n";
            std::exit(exit_ok);
        } else if (arg == "--config" || arg == "-c") {
            args.config_path = take_value();
        } else if (arg == "--check-config") {
            args.check_only = true;
        } else if (const cli_flag* known = find_flag(info, arg)) {
            args.flags[arg] = known->value_name.empty() ? "" : take_value();
        } else {
            usage_error(info, "unknown option " + arg);
        }
    }
    return args;
}

}  // namespace

cli_result parse_command_line(int argc, char** argv, const program_info& info) {
    auto args = parse_arguments(argc, argv, info);
    if (!args.config_path) {
        args.config_path = config::process_env("SPILLWAY_CONFIG");
    }
    cli_result result;
    result.flags = std::move(args.flags);
    result.config_path = args.config_path;
    try {
        result.cfg = args.config_path ? config::load_file(*args.config_path) : config::parse("{}");
    } catch (const config::config_error& e) {
        std::cerr << info.name << ": configuration error: " << e.what() << "\n";
        std::exit(exit_config_error);
    }
    if (args.check_only) {
        const std::string source = args.config_path ? *args.config_path : "defaults";
        std::cout << info.name << ": configuration OK (" << source << ")\n";
        std::exit(exit_ok);
    }
    return result;
}

config::config reload_configuration(const cli_result& cli) {
    return cli.config_path ? config::load_file(*cli.config_path) : config::parse("{}");
}

}  // namespace spillway::runtime
