// format_rfc3339: the envelope's received_at, UTC to the millisecond.

#include "spillway/core/ids.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace spillway::core {
namespace {

using namespace std::chrono;

system_clock::time_point at(sys_days day, hours h, minutes m, seconds s, milliseconds ms) {
    return system_clock::time_point(day) + h + m + s + ms;
}

TEST(Rfc3339, UtcWithMillisecondsZeroPadded) {
    const sys_days day = year{2026} / 11 / 27;
    EXPECT_EQ(format_rfc3339(at(day, 2h, 3min, 4s, 5ms)), "2026-11-27T02:03:04.005Z");
    EXPECT_EQ(format_rfc3339(at(day, 2h, 3min, 4s, 999ms)), "2026-11-27T02:03:04.999Z");
    EXPECT_EQ(format_rfc3339(at(day, 23h, 59min, 59s, 0ms)), "2026-11-27T23:59:59.000Z");
}

// The calendar part is cached per second: a new second, back and forth, must never reuse it.
TEST(Rfc3339, EachSecondFormattedAfresh) {
    const sys_days day = year{2026} / 12 / 31;
    EXPECT_EQ(format_rfc3339(at(day, 23h, 59min, 59s, 998ms)), "2026-12-31T23:59:59.998Z");
    EXPECT_EQ(format_rfc3339(at(day, 23h, 59min, 59s, 999ms) + 1ms), "2027-01-01T00:00:00.000Z");
    EXPECT_EQ(format_rfc3339(at(day, 23h, 59min, 59s, 1ms)), "2026-12-31T23:59:59.001Z");
    EXPECT_EQ(format_rfc3339(at(day, 0h, 0min, 0s, 0ms) + microseconds(999)),
              "2026-12-31T00:00:00.000Z");
}

}  // namespace
}  // namespace spillway::core
