// Retry-After as the replay reads it from a backend (RFC 9110, 10.2.3): both forms, the three date
// formats, and everything else ignored.

#include "spillway/replay/retry_after.hpp"

#include <gtest/gtest.h>

namespace spillway::replay {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example.
const system_clock::time_point rfc_example = sys_days{1994y / November / 6} + 8h + 49min + 37s;

TEST(RetryAfter, DeltaSeconds) {
    EXPECT_EQ(parse_retry_after("0", rfc_example), 0ms);
    EXPECT_EQ(parse_retry_after("7", rfc_example), 7000ms);
    EXPECT_EQ(parse_retry_after("  120\t", rfc_example), 120000ms) << "surrounding OWS";
    EXPECT_EQ(parse_retry_after("007", rfc_example), 7000ms);
}

TEST(RetryAfter, AHugeNumberSaturatesInsteadOfOverflowing) {
    const auto a = parse_retry_after("99999999999999999999999999999999", rfc_example);
    ASSERT_TRUE(a);
    EXPECT_GT(*a, hours{24 * 365});
}

TEST(RetryAfter, ImfFixdate) {
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", rfc_example), 10000ms);
    EXPECT_EQ(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", rfc_example), 86400000ms);
}

TEST(RetryAfter, ObsoleteRfc850AndAsctimeForms) {
    EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", rfc_example), 60000ms);
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:39 1994", rfc_example), 2000ms);
    EXPECT_EQ(parse_retry_after("Wed Nov 16 08:49:37 1994", rfc_example), 864000000ms);
}

TEST(RetryAfter, ADateInThePastMeansNoWait) {
    EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", rfc_example), 0ms);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", rfc_example), 0ms);
}

TEST(RetryAfter, GarbageIsIgnored) {
    for (const char* value : {"",
                              " ",
                              "-5",
                              "+5",
                              "1.5",
                              "5s",
                              "5 5",
                              "0x10",
                              "soon",
                              "Sun, 06 Nov 1994 08:49:37",
                              "Sun, 06 Nov 1994 08:49:37 UTC",
                              "Sun, 31 Feb 1994 08:49:37 GMT",
                              "Sun, 06 Foo 1994 08:49:37 GMT",
                              "Sun, 06 Nov 1994 24:00:00 GMT",
                              "Sun, 6 Nov 1994 08:49:37 GMT",
                              "Sun, 06 Nov 1994 08:49:37 GMT trailing",
                              "Xyz, 06 Nov 1994 08:49:37 GMT",
                              "Sun Nov  6 08:49:37 94",
                              "Sunday, 06-Nov-1994 08:49:37 GMT",
                              "Sun, 06 Nov 1994 08:49:37 GMT\r\nX: y"}) {
        EXPECT_EQ(parse_retry_after(value, rfc_example), std::nullopt) << "'" << value << "'";
    }
    EXPECT_EQ(parse_retry_after(std::string_view("5\0", 2), rfc_example), std::nullopt);
}

}  // namespace
}  // namespace spillway::replay
