// The seal keys are read when the configuration is: a bad key file is a configuration error
// (exit 2, also under --check-config), not a surprise at the first capture or replay.

#include "spillway/config/config_json.hpp"
#include "spillway/config/object_reader.hpp"
#include "spillway/core/seal.hpp"

namespace spillway::config {

namespace {

core::seal_key load(const std::string& key, const std::string& path) {
    require(!path.empty(), key, "must not be empty");
    auto loaded = core::load_seal_key(path);
    if (auto* why = std::get_if<std::string>(&loaded)) {
        fail(key, *why);
    }
    return std::get<core::seal_key>(std::move(loaded));
}

}  // namespace

std::shared_ptr<const core::seal_keyring> load_seal_keys(const capture_config& cap) {
    // A body cannot be redacted and still be replayed, so sealing it needs a key.
    require(!cap.seal_body || !cap.seal_key_file.empty(), "capture.seal_body",
            "needs capture.seal_key_file");
    std::optional<core::seal_key> sealing;
    std::vector<std::string> names;  // the key of each key file read, for the duplicate check
    std::vector<core::seal_key> opening;
    if (!cap.seal_key_file.empty()) {
        sealing = load("capture.seal_key_file", cap.seal_key_file);
    }
    for (std::size_t i = 0; i < cap.open_key_files.size(); ++i) {
        const std::string key = "capture.open_key_files[" + std::to_string(i) + "]";
        auto k = load(key, cap.open_key_files[i]);
        // The key id picks the key: two files with one id would make opening ambiguous.
        if (sealing && sealing->id() == k.id()) {
            fail(key, "the same key (id " + k.id() + ") as capture.seal_key_file");
        }
        for (std::size_t j = 0; j < opening.size(); ++j) {
            if (opening[j].id() == k.id()) {
                fail(key, "the same key (id " + k.id() + ") as " + names[j]);
            }
        }
        names.push_back(key);
        opening.push_back(std::move(k));
    }
    return std::make_shared<const core::seal_keyring>(std::move(sealing), std::move(opening));
}

}  // namespace spillway::config
