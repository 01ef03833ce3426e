#include "spillway/config/object_reader.hpp"

namespace spillway::config {

using json = nlohmann::json;

void fail(const std::string& key, const std::string& what) {
    throw config_error(key + ": " + what);
}

void require(bool ok, const std::string& key, const std::string& what) {
    if (!ok) {
        fail(key, what);
    }
}

object_reader::object_reader(const json& object, std::string path)
    : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) {
        fail(path_.empty() ? "(top level)" : path_, "expected an object");
    }
}

std::string object_reader::key(const std::string& name) const {
    return path_.empty() ? name : path_ + "." + name;
}

const json* object_reader::find(const std::string& name) {
    known_.insert(name);
    auto it = object_.find(name);
    if (it == object_.end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

void object_reader::read(const std::string& name, std::string& out) {
    if (const json* v = find(name)) {
        if (!v->is_string()) {
            fail(key(name), "expected a string");
        }
        out = v->get<std::string>();
    }
}

void object_reader::read(const std::string& name, bool& out) {
    if (const json* v = find(name)) {
        if (!v->is_boolean()) {
            fail(key(name), "expected true or false");
        }
        out = v->get<bool>();
    }
}

void object_reader::read(const std::string& name, double& out) {
    if (const json* v = find(name)) {
        if (!v->is_number()) {
            fail(key(name), "expected a number");
        }
        out = v->get<double>();
        if (out < 0) {
            fail(key(name), "must not be negative");
        }
    }
}

void object_reader::read(const std::string& name, milliseconds& out) {
    if (const json* v = find(name)) {
        out = milliseconds(unsigned_value(name, *v, std::numeric_limits<std::int32_t>::max()));
    }
}

void object_reader::read(const std::string& name, std::vector<std::string>& out) {
    if (const json* v = find(name)) {
        if (!v->is_array()) {
            fail(key(name), "expected an array of strings");
        }
        out.clear();
        for (const auto& item : *v) {
            if (!item.is_string()) {
                fail(key(name), "expected an array of strings");
            }
            out.push_back(item.get<std::string>());
        }
    }
}

void object_reader::read(const std::string& name, std::vector<unsigned>& out) {
    if (const json* v = find(name)) {
        if (!v->is_array()) {
            fail(key(name), "expected an array of integers");
        }
        out.clear();
        for (const auto& item : *v) {
            out.push_back(static_cast<unsigned>(unsigned_value(name, item, 0xffff)));
        }
    }
}

void object_reader::read(const std::string& name, std::map<std::string, std::string>& out) {
    if (const json* v = find(name)) {
        if (!v->is_object()) {
            fail(key(name), "expected an object of strings");
        }
        out.clear();
        for (const auto& [k, item] : v->items()) {
            if (!item.is_string()) {
                fail(key(name) + "." + k, "expected a string");
            }
            out[k] = item.get<std::string>();
        }
    }
}

void object_reader::finish() const {
    for (const auto& [name, value] : object_.items()) {
        if (!known_.contains(name)) {
            fail(key(name), "unknown key");
        }
    }
}

std::uint64_t object_reader::unsigned_value(const std::string& name, const json& v,
                                            std::uint64_t max) const {
    if (!v.is_number_unsigned()) {  // negative integers parse as signed, fractions as floats
        fail(key(name), "expected a non-negative integer");
    }
    auto n = v.get<std::uint64_t>();
    if (n > max) {
        fail(key(name), "must be at most " + std::to_string(max));
    }
    return n;
}

}  // namespace spillway::config
