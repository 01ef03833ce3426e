#pragma once
// What the config tests share: an environment of their own (so SPILLWAY_* overrides are tested
// without touching the process's) and the error message a document produces.

#include "spillway/config/config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace spillway::config::test_support {

// The fake environment parse() reads through lookup(); cleared around every test.
inline std::map<std::string, std::string>& fake_env() {
    static std::map<std::string, std::string> env;
    return env;
}

inline std::optional<std::string> lookup(const char* name) {
    auto it = fake_env().find(name);
    if (it == fake_env().end()) {
        return std::nullopt;
    }
    return it->second;
}

class ConfigFixture : public ::testing::Test {
protected:
    void SetUp() override { fake_env().clear(); }
    void TearDown() override { fake_env().clear(); }

    // What parse() throws for `text`, or "(no error)".
    static std::string error_of(const std::string& text) {
        try {
            parse(text, lookup);
        } catch (const config_error& e) {
            return e.what();
        }
        return "(no error)";
    }
};

}  // namespace spillway::config::test_support
