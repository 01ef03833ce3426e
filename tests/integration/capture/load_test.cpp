// Many captures at once: every request answered "queued" is in the topic, once. No request is
// lost and none is written twice under concurrency (batched produce requests, two workers).

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

namespace spillway::test::capture_suite {
namespace {

TEST(CaptureLoad, TwoThousandConcurrentFailingRequestsGiveTwoThousandDistinctRecords) {
    constexpr std::size_t requests = 2000;
    // The devbroker keeps about 5 MB per partition; small bodies over 8 partitions stay far
    // below that, so the end offsets and what kcat reads agree.
    devbroker broker(devbroker_options{.partitions = 8});
    temp_dir spool("spillway-capture-spool");
    spillway_proxy p({dead_backend_url(), broker.bootstrap(), spool.path(), {{"threads", 2}}});

    const auto result = run_load({.port = p.port(),
                                  .connections = 64,
                                  .requests = requests,
                                  .body = R"({"load":true})",
                                  .timeout = 60s});
    const auto ids = queued_ids(result, requests);
    ASSERT_EQ(ids.size(), requests);

    EXPECT_TRUE(wait_for_records(broker.bootstrap(), requests, 30s));
    // Once the proxy has exited nothing more can arrive: the counts below are final.
    EXPECT_EQ(p.terminate(), 0);
    EXPECT_EQ(records_in_topic(broker.bootstrap()), static_cast<std::int64_t>(requests));
    const auto records = read_topic(broker.bootstrap());
    expect_exactly_once(records, ids);
    for (const auto& r : records) {
        if (!r.envelope || r.message.key != r.envelope->id) {
            ADD_FAILURE() << "record at " << r.message.partition << "/" << r.message.offset
                          << " has key " << r.message.key.value_or("<null>");
            break;
        }
    }
}

}  // namespace
}  // namespace spillway::test::capture_suite
