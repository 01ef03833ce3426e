#pragma once
// How config::parse reads the JSON document: one object at a time, each value checked for its
// type and range, every key that was read remembered so that the rest can be rejected as unknown,
// and every error naming the key ("kafka.topic: expected a string"). Internal to config/.

#include "spillway/config/config.hpp"

#include <nlohmann/json.hpp>

#include <limits>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace spillway::config {

// Throws config_error "key: what".
[[noreturn]] void fail(const std::string& key, const std::string& what);

// fail() unless `ok`.
void require(bool ok, const std::string& key, const std::string& what);

class object_reader {
public:
    // `path` is the object's key ("" for the top level); throws unless `object` is an object.
    object_reader(const nlohmann::json& object, std::string path);

    // The full key of a member: "kafka.topic".
    std::string key(const std::string& name) const;

    // Returns the value of `name` if present (and not null), marking it as known.
    const nlohmann::json* find(const std::string& name);

    // Each read leaves `out` as it is when the member is absent or null.
    void read(const std::string& name, std::string& out);
    void read(const std::string& name, bool& out);
    void read(const std::string& name, double& out);  // not negative
    void read(const std::string& name, milliseconds& out);
    void read(const std::string& name, std::vector<std::string>& out);
    void read(const std::string& name, std::vector<unsigned>& out);  // each at most 65535
    void read(const std::string& name, std::map<std::string, std::string>& out);

    template <class Unsigned>
    requires std::is_unsigned_v<Unsigned>
    void read(const std::string& name, Unsigned& out) {
        if (const nlohmann::json* v = find(name)) {
            out = static_cast<Unsigned>(
                unsigned_value(name, *v, std::numeric_limits<Unsigned>::max()));
        }
    }

    // Hands a nested object to `section`, which reads it with its own reader.
    template <class Section>
    void section(const std::string& name, Section&& section) {
        if (const nlohmann::json* v = find(name)) {
            object_reader nested(*v, key(name));
            section(nested);
            nested.finish();
        }
    }

    // Rejects the first member that no read asked for: "backend.urll: unknown key".
    void finish() const;

private:
    std::uint64_t unsigned_value(const std::string& name, const nlohmann::json& v,
                                 std::uint64_t max) const;

    const nlohmann::json& object_;
    std::string path_;
    std::set<std::string> known_;
};

}  // namespace spillway::config
