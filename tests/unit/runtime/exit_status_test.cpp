#include "spillway/runtime/exit_status.hpp"

#include "spillway/config/config.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <system_error>

namespace spillway::runtime {
namespace {

TEST(RunGuarded, ReturnsTheBodysOwnStatus) {
    EXPECT_EQ(run_guarded("test", [] { return exit_ok; }), 0);
    EXPECT_EQ(run_guarded("test", [] { return exit_failure; }), 1);
}

TEST(RunGuarded, AConfigurationErrorExits2) {
    // What kafka::build_conf throws for a property librdkafka does not know.
    EXPECT_EQ(run_guarded("test",
                          []() -> int {
                              throw config::config_error(
                                  "kafka.properties.no.such.property: No such property");
                          }),
              exit_config_error);
    EXPECT_EQ(exit_config_error, 2);
}

TEST(RunGuarded, AnyOtherExceptionIsARuntimeFailure) {
    EXPECT_EQ(run_guarded("test", []() -> int { throw std::runtime_error("spool: disk I/O"); }),
              exit_failure);
    EXPECT_EQ(run_guarded("test",
                          []() -> int {
                              throw std::system_error(
                                  std::make_error_code(std::errc::address_in_use), "bind");
                          }),
              exit_failure);
    EXPECT_EQ(exit_failure, 1);
}

}  // namespace
}  // namespace spillway::runtime
