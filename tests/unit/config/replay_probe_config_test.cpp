// replay.probe_path: the outage probe's target (docs/replay.md, "Backend down").

#include "spillway/config/config.hpp"

#include "unit/config/config_fixture.hpp"

#include <gtest/gtest.h>

namespace spillway::config {
namespace {

using namespace test_support;

class ReplayProbeConfig : public ConfigFixture {};

TEST_F(ReplayProbeConfig, DefaultsToTheRootAndMatchesTheShippedFile) {
    EXPECT_EQ(parse("{}", lookup).replay.probe_path, "/");
    EXPECT_EQ(load_file(SPILLWAY_SOURCE_DIR "/config/spillway.json", lookup).replay.probe_path,
              "/");
}

TEST_F(ReplayProbeConfig, TakesAnOriginFormPath) {
    EXPECT_EQ(parse(R"({"replay":{"probe_path":"/healthz?deep=1"}})", lookup).replay.probe_path,
              "/healthz?deep=1");
}

TEST_F(ReplayProbeConfig, MistakesNameTheKey) {
    EXPECT_EQ(error_of(R"({"replay":{"probe_path":""}})"), "replay.probe_path: must start with /");
    EXPECT_EQ(error_of(R"({"replay":{"probe_path":"health"}})"),
              "replay.probe_path: must start with /");
    EXPECT_EQ(error_of(R"({"replay":{"probe_path":"http://x/"}})"),
              "replay.probe_path: must start with /");
    EXPECT_EQ(error_of(R"({"replay":{"probe_path":"/a b"}})"),
              "replay.probe_path: must not contain spaces or control characters");
    EXPECT_EQ(error_of(R"({"replay":{"probe_path":"/a\r\nX-Injected: 1"}})"),
              "replay.probe_path: must not contain spaces or control characters");
    EXPECT_EQ(error_of(R"({"replay":{"probe_path":7}})"), "replay.probe_path: expected a string");
}

}  // namespace
}  // namespace spillway::config
