#pragma once
// The steps of config::parse (config.cpp) on the parsed JSON document: the SPILLWAY_* variables
// written into it (config_env.cpp), then the document read and validated section by section
// (config_json.cpp). Internal to config/; everyone else calls parse() or load_file().

#include "spillway/config/config.hpp"

#include <nlohmann/json_fwd.hpp>

namespace spillway::config {

// Writes each SPILLWAY_* variable that is set into the document, at its key.
void apply_env_overrides(nlohmann::json& doc, env_lookup env);

// Reads and validates the whole document; throws config_error naming the key.
config from_json(const nlohmann::json& doc);

// Reads capture.seal_key_file and capture.open_key_files (seal_keys.cpp); throws config_error
// naming the key and the file when one is missing, unreadable, open to group or others, or not
// 32 bytes, or when two are the same key.
std::shared_ptr<const core::seal_keyring> load_seal_keys(const capture_config& cap);

}  // namespace spillway::config
