// capture.seal_headers, seal_key_file, open_key_files and seal_body: defaults, the keys read at
// parse time, and every bad key file named by its key.

#include "spillway/config/config.hpp"
#include "spillway/core/seal.hpp"

#include "unit/config/config_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

namespace spillway::config {
namespace {

using namespace test_support;

class SealConfig : public ConfigFixture {
protected:
    void SetUp() override {
        ConfigFixture::SetUp();
        dir_ = std::filesystem::temp_directory_path() /
               ("spillway-seal-config-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override {
        std::filesystem::remove_all(dir_);
        ConfigFixture::TearDown();
    }

    std::string key_file(const std::string& name, char fill, std::size_t size = 32,
                         mode_t mode = 0600) {
        const auto path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << std::string(size, fill);
        ::chmod(path.c_str(), mode);
        return path;
    }

    static std::string capture(const nlohmann::json& section) {
        return nlohmann::json{{"capture", section}}.dump();
    }

    std::filesystem::path dir_;
};

TEST_F(SealConfig, DefaultsSealCredentialsWithoutAKeySoTheyAreRedacted) {
    const config c = parse("{}", lookup);
    EXPECT_EQ(c.capture.seal_headers,
              (std::vector<std::string>{"Authorization", "Proxy-Authorization", "Cookie"}));
    EXPECT_TRUE(c.capture.redact_headers.empty());
    EXPECT_EQ(c.capture.seal_key_file, "");
    EXPECT_TRUE(c.capture.open_key_files.empty());
    EXPECT_FALSE(c.capture.seal_body);
    ASSERT_TRUE(c.capture.keys);
    EXPECT_EQ(c.capture.keys->sealing(), nullptr);
}

TEST_F(SealConfig, ShippedFileHasTheDefaults) {
    const config shipped = load_file(SPILLWAY_SOURCE_DIR "/config/spillway.json", lookup);
    const config defaults = parse("{}", lookup);
    EXPECT_EQ(shipped.capture.seal_headers, defaults.capture.seal_headers);
    EXPECT_EQ(shipped.capture.redact_headers, defaults.capture.redact_headers);
    EXPECT_EQ(shipped.capture.seal_key_file, defaults.capture.seal_key_file);
    EXPECT_EQ(shipped.capture.open_key_files, defaults.capture.open_key_files);
    EXPECT_EQ(shipped.capture.seal_body, defaults.capture.seal_body);
}

TEST_F(SealConfig, KeysAreReadWhenTheConfigurationIsParsed) {
    const auto seal = key_file("new", 'n');
    const auto old1 = key_file("old1", 'o');
    const auto old2 = key_file("old2", 'p');
    const config c = parse(capture({{"seal_key_file", seal},
                                    {"open_key_files", {old1, old2}},
                                    {"seal_body", true},
                                    {"seal_headers", nlohmann::json::array({"X-Api-Key"})}}),
                           lookup);
    ASSERT_TRUE(c.capture.keys && c.capture.keys->sealing());
    const auto id_of = [](char fill) {
        return core::seal_key::from_bytes(std::string(32, fill))->id();
    };
    EXPECT_EQ(c.capture.keys->sealing()->id(), id_of('n'));
    EXPECT_NE(c.capture.keys->find(id_of('o')), nullptr);
    EXPECT_NE(c.capture.keys->find(id_of('p')), nullptr);
    EXPECT_EQ(c.capture.keys->find(id_of('q')), nullptr);
    EXPECT_TRUE(c.capture.seal_body);
    EXPECT_EQ(c.capture.seal_headers, (std::vector<std::string>{"X-Api-Key"}));
}

TEST_F(SealConfig, EveryBadKeyFileNamesItsKey) {
    const auto good = key_file("good", 'g');
    const auto missing = (dir_ / "missing").string();
    EXPECT_EQ(error_of(capture({{"seal_key_file", missing}})),
              "capture.seal_key_file: " + missing + ": cannot open: No such file or directory");
    EXPECT_EQ(error_of(capture({{"seal_key_file", key_file("open", 'x', 32, 0644)}}))
                  .rfind("capture.seal_key_file: ", 0),
              0u);
    EXPECT_NE(
        error_of(capture({{"seal_key_file", key_file("open", 'x', 32, 0644)}})).find("mode 0644"),
        std::string::npos);
    EXPECT_NE(error_of(capture({{"seal_key_file", key_file("short", 'x', 31)}})).find("31 bytes"),
              std::string::npos);
    EXPECT_NE(error_of(capture({{"seal_key_file", key_file("long", 'x', 33)}})).find("33 bytes"),
              std::string::npos);
    EXPECT_EQ(error_of(capture({{"seal_key_file", good}, {"open_key_files", {good, missing}}}))
                  .rfind("capture.open_key_files[0]: the same key (id ", 0),
              0u);
    EXPECT_EQ(error_of(capture(
                  {{"seal_key_file", good}, {"open_key_files", nlohmann::json::array({missing})}})),
              "capture.open_key_files[0]: " + missing + ": cannot open: No such file or directory");
    const auto other = key_file("other", 'o');
    const auto copy = key_file("copy", 'o');
    EXPECT_EQ(error_of(capture({{"open_key_files", {other, copy}}}))
                  .rfind("capture.open_key_files[1]: the same key (id ", 0),
              0u);
    EXPECT_EQ(error_of(capture({{"open_key_files", nlohmann::json::array({""})}})),
              "capture.open_key_files[0]: must not be empty");
    if (::geteuid() != 0) {
        const auto unreadable = key_file("unreadable", 'u', 32, 0000);
        EXPECT_EQ(error_of(capture({{"seal_key_file", unreadable}})),
                  "capture.seal_key_file: " + unreadable + ": cannot open: Permission denied");
    }
}

TEST_F(SealConfig, OtherMistakesNameTheKey) {
    EXPECT_EQ(error_of(capture({{"seal_body", true}})),
              "capture.seal_body: needs capture.seal_key_file");
    EXPECT_EQ(error_of(capture({{"seal_headers", nlohmann::json::array({"Bad Name"})}})),
              "capture.seal_headers: \"Bad Name\" is not a header name");
    EXPECT_EQ(error_of(capture({{"seal_key_file", 5}})),
              "capture.seal_key_file: expected a string");
    EXPECT_EQ(error_of(capture({{"open_key_files", "one"}})),
              "capture.open_key_files: expected an array of strings");
    EXPECT_EQ(error_of(capture({{"seal_body", "yes"}})),
              "capture.seal_body: expected true or false");
}

}  // namespace
}  // namespace spillway::config
