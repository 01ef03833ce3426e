// spillway-ctl's filters on envelopes, and the RFC 3339 times they compare.

#include "spillway/ctl/record_filter.hpp"

#include <gtest/gtest.h>

namespace spillway::ctl {
namespace {

using namespace std::chrono;

envelope::envelope dead_letter() {
    envelope::envelope e;
    e.id = "id-1";
    e.received_at = "2026-12-01T10:00:00.500Z";
    e.method = "POST";
    e.uri = "/api/orders?x=1";
    e.failure.kind = core::failure_kind::upstream_status;
    e.dlq = envelope::dlq_info{"backend answered 500", 500u, 3, "2026-12-01T10:05:00Z"};
    return e;
}

TEST(Rfc3339Parsing, ZuluOffsetsAndFractions) {
    const auto base = parse_rfc3339("2026-12-01T10:00:00Z");
    ASSERT_TRUE(base);
    EXPECT_EQ(parse_rfc3339("2026-12-01T11:30:00+01:30"), base);
    EXPECT_EQ(parse_rfc3339("2026-12-01T08:00:00-02:00"), base);
    EXPECT_EQ(parse_rfc3339("2026-12-01t10:00:00.250z"), *base + 250ms);
    EXPECT_EQ(sys_days(year_month_day(floor<days>(*base))), sys_days(2026y / December / 1));
}

TEST(Rfc3339Parsing, RefusesWhatIsNotOne) {
    for (const char* bad :
         {"", "2026-12-01", "2026-12-01T10:00:00", "2026-13-01T10:00:00Z", "2026-02-30T10:00:00Z",
          "2026-12-01T24:00:00Z", "2026-12-01T10:00Z", "2026-12-01T10:00:00.Z",
          "2026-12-01T10:00:00Z ", "2026-12-01T10:00:00+1:00"}) {
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
    }
}

TEST(RecordFilter, EveryFilterMustHold) {
    const auto e = dead_letter();
    EXPECT_TRUE(filters_nothing(record_filter{}));
    EXPECT_TRUE(matches(record_filter{}, e));
    EXPECT_TRUE(matches(record_filter{.ids = {"x", "id-1"}}, e));
    EXPECT_FALSE(matches(record_filter{.ids = {"x"}}, e));
    EXPECT_TRUE(matches(record_filter{.kind = core::failure_kind::upstream_status}, e));
    EXPECT_FALSE(matches(record_filter{.kind = core::failure_kind::timeout}, e));
    EXPECT_TRUE(matches(record_filter{.reason = "answered 5"}, e));
    EXPECT_FALSE(matches(record_filter{.reason = "timed out"}, e));
    EXPECT_TRUE(matches(record_filter{.status = 500u}, e));
    EXPECT_FALSE(matches(record_filter{.status = 502u}, e));
    EXPECT_TRUE(matches(record_filter{.method = "POST"}, e));
    EXPECT_FALSE(matches(record_filter{.method = "post"}, e));
    EXPECT_TRUE(matches(record_filter{.path_prefix = "/api/"}, e));
    EXPECT_FALSE(matches(record_filter{.path_prefix = "/apix"}, e));
    EXPECT_FALSE(
        matches(record_filter{.kind = core::failure_kind::upstream_status, .method = "GET"}, e));
}

TEST(RecordFilter, SinceIsInclusiveUntilExclusive) {
    const auto e = dead_letter();
    const auto at = *parse_rfc3339("2026-12-01T10:00:00.500Z");
    EXPECT_TRUE(matches(record_filter{.since = at}, e));
    EXPECT_FALSE(matches(record_filter{.since = at + 1ms}, e));
    EXPECT_FALSE(matches(record_filter{.until = at}, e));
    EXPECT_TRUE(matches(record_filter{.until = at + 1ms}, e));
    auto unreadable = e;
    unreadable.received_at = "soon";
    EXPECT_FALSE(matches(record_filter{.since = at}, unreadable));
}

TEST(RecordFilter, DeadLetterFiltersNeverMatchAQueuedEnvelope) {
    auto queued = dead_letter();
    queued.dlq.reset();
    EXPECT_FALSE(matches(record_filter{.reason = ""}, queued));
    EXPECT_FALSE(matches(record_filter{.status = 500u}, queued));
    EXPECT_TRUE(matches(record_filter{.method = "POST"}, queued));
}

}  // namespace
}  // namespace spillway::ctl
