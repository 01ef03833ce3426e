// The configuration loader (src/config/): config::parse on JSON text, with the SPILLWAY_*
// environment overrides it applies before reading. The input is the file's text, then,
// optionally, a NUL byte and the environment as NAME=value lines. A refused configuration is a
// config_error naming the key: that is the loader's contract (main prints it and exits 2); any
// other exception escaping parse() is a finding, as is a crash, or a configuration that loads
// without a backend endpoint or a worker thread.

#include "spillway/config/config.hpp"

#include "fuzz_support.hpp"

#include <map>
#include <optional>
#include <string>

namespace {

std::map<std::string, std::string, std::less<>> environment;

std::optional<std::string> fuzzed_env(const char* name) {
    const auto it = environment.find(std::string_view(name));
    if (it == environment.end()) {
        return std::nullopt;
    }
    return it->second;
}

void read_environment(std::string_view text) {
    environment.clear();
    while (!text.empty()) {
        const auto end = text.find('\n');
        const auto line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        const auto eq = line.find('=');
        if (eq != std::string_view::npos) {
            environment[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto nul = input.find('\0');
    read_environment(nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1));
    try {
        const auto cfg = spillway::config::parse(std::string(input.substr(0, nul)), fuzzed_env);
        // What the daemons take for granted of a configuration that loaded.
        SPILLWAY_FUZZ_CHECK(!cfg.backend.endpoints.empty());
        SPILLWAY_FUZZ_CHECK(cfg.worker_threads() >= 1);
        if (spillway::fuzz::printing()) {
            std::printf("accepted: listen %s, backend %s, %zu endpoint(s)\n",
                        cfg.listen.to_string().c_str(), cfg.backend.url.c_str(),
                        cfg.backend.endpoints.size());
        }
    } catch (const spillway::config::config_error& e) {
        if (spillway::fuzz::printing()) {
            std::printf("refused: %s\n", e.what());
        }
    }
    return 0;
}
