// Kafka outages: a "queued" answer must mean stored, so what the proxy answers while the broker
// is down goes to the spool and reaches the topic once the broker is back, each request exactly
// once - also across a kill -9 of the proxy and across a SIGTERM while captures are waiting.

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <future>

namespace spillway::test::capture_suite {
namespace {

constexpr int delivery_timeout_ms = 1000;

nlohmann::json outage_settings() {
    return {{"kafka", {{"delivery_timeout_ms", delivery_timeout_ms}}}};
}

void expect_all_waited_for_kafka(const load_result& result) {
    for (const auto& a : result.answers) {
        // Before the delivery timeout the record could still have reached Kafka: answering
        // earlier would mean it was neither acked nor spooled by the rules.
        EXPECT_GE(a.took, std::chrono::milliseconds(delivery_timeout_ms - 100));
        EXPECT_LT(a.took, std::chrono::milliseconds(delivery_timeout_ms + 4000));
    }
}

TEST(CaptureOutage, KafkaDownSpoolsThenDrainsEachIdExactlyOnce) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    spillway_proxy p({dead_backend_url(), broker.bootstrap(), spool.path(), outage_settings()});

    // One capture while Kafka is up: the producer has a connection (and a producer id) to lose.
    http_client client(p.port());
    std::set<std::string> ids{expect_captured(client.request(make_request("POST", "/warm")))};
    ASSERT_TRUE(wait_for_records(broker.bootstrap(), 1));

    ASSERT_TRUE(broker.down());
    // One request per connection: all of them wait for the same delivery timeout at once.
    const auto result = run_load({.port = p.port(),
                                  .connections = 30,
                                  .requests = 30,
                                  .target = "/during-outage",
                                  .timeout = 20s});
    const auto queued = queued_ids(result, 30);
    expect_all_waited_for_kafka(result);
    ids.insert(queued.begin(), queued.end());
    ASSERT_EQ(ids.size(), 31u);
    EXPECT_EQ(p.metric("spillway_spool_records"), 30.0);
    EXPECT_EQ(
        p.metric("spillway_captured_total", {{"failure", "connect_error"}, {"sink", "spool"}}),
        30.0);

    ASSERT_TRUE(broker.up());
    EXPECT_TRUE(wait_for_records(broker.bootstrap(), 31, 30s))
        << "the spool did not drain: " << records_in_topic(broker.bootstrap()) << " records";
    EXPECT_TRUE(wait_until([&] { return p.metric("spillway_spool_records") == 0.0; }, 10s))
        << "delivered records are still in the spool";
    // Once the proxy has exited nothing more can arrive: the count below is final.
    EXPECT_EQ(p.terminate(), 0);
    const auto records = read_topic(broker.bootstrap());
    expect_exactly_once(records, ids);
    expect_schema_valid(records);
}

TEST(CaptureOutage, KillNineWithANonEmptySpoolLosesNothing) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    const auto backend_url = dead_backend_url();
    std::set<std::string> ids;
    {
        spillway_proxy first({backend_url, broker.bootstrap(), spool.path(), outage_settings()});
        ASSERT_TRUE(broker.down());
        const auto result = run_load({.port = first.port(),
                                      .connections = 25,
                                      .requests = 25,
                                      .target = "/before-crash",
                                      .timeout = 20s});
        ids = queued_ids(result, 25);
        EXPECT_EQ(first.metric("spillway_spool_records"), 25.0);
        first.proc().signal(SIGKILL);
        EXPECT_EQ(first.proc().wait_exit(5s), 128 + SIGKILL);
    }
    ASSERT_EQ(ids.size(), 25u);
    ASSERT_TRUE(broker.up());
    // Nothing reached Kafka before the crash: whatever arrives now came out of the spool file.
    EXPECT_EQ(records_in_topic(broker.bootstrap()), 0);

    spillway_proxy second({backend_url, broker.bootstrap(), spool.path(), outage_settings()});
    EXPECT_TRUE(wait_for_records(broker.bootstrap(), 25, 30s))
        << "the restarted proxy did not send what the spool held: "
        << records_in_topic(broker.bootstrap()) << " records";
    EXPECT_EQ(second.terminate(), 0);
    const auto records = read_topic(broker.bootstrap());
    expect_exactly_once(records, ids);
    expect_schema_valid(records);
}

// A record spooled during an outage can meet a Kafka that refuses it for good when it drains
// (here: the restarted proxy allows smaller messages). It must neither hold back the records
// spooled after it nor vanish: it is set aside in the spool's quarantine table.
TEST(CaptureOutage, ASpooledRecordKafkaRefusesForGoodIsQuarantinedAndTheRestDrains) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    const auto backend_url = dead_backend_url();
    std::set<std::string> small_ids;
    {
        spillway_proxy first({backend_url, broker.bootstrap(), spool.path(), outage_settings()});
        ASSERT_TRUE(broker.down());
        http_client client(first.port());
        const std::string big_body(1200 * 1024, 'x');
        expect_captured(client.request(make_request("POST", "/big", {}, big_body)));
        for (int i = 0; i < 3; ++i) {
            small_ids.insert(expect_captured(client.request(make_request("POST", "/small"))));
        }
        EXPECT_EQ(first.metric("spillway_spool_records"), 4.0);
        EXPECT_EQ(first.terminate(), 0);
    }
    ASSERT_TRUE(broker.up());
    auto settings = outage_settings();
    settings["kafka"]["properties"] = {{"message.max.bytes", "1000000"}};
    spillway_proxy second({backend_url, broker.bootstrap(), spool.path(), settings});
    EXPECT_TRUE(wait_for_records(broker.bootstrap(), 3, 30s))
        << "the refused record held back the others: " << records_in_topic(broker.bootstrap());
    EXPECT_TRUE(wait_until(
        [&] {
            return second.metric("spillway_spool_quarantined_records") == 1.0 &&
                   second.metric("spillway_spool_records") == 0.0;
        },
        10s));
    EXPECT_EQ(second.terminate(), 0);
    expect_exactly_once(read_topic(broker.bootstrap()), small_ids);
}

TEST(CaptureOutage, SigtermWhileCapturesWaitAnswersThemAndExitsZero) {
    devbroker broker;
    temp_dir spool("spillway-capture-spool");
    fake_backend backend;
    backend.on("/busy", route{.status = 502});
    constexpr std::size_t waiting = 20;
    std::set<std::string> ids;
    {
        spillway_proxy first(
            {backend.url(),
             broker.bootstrap(),
             spool.path(),
             {{"kafka", {{"delivery_timeout_ms", 2000}}}, {"shutdown_timeout_ms", 8000}}});
        ASSERT_TRUE(broker.down());
        auto load = std::async(std::launch::async, [port = first.port()] {
            return run_load({.port = port,
                             .connections = waiting,
                             .requests = waiting,
                             .target = "/busy",
                             .timeout = 20s});
        });
        // Every request reached the backend and got its 502: each is now a capture waiting
        // for a Kafka that does not answer.
        ASSERT_TRUE(backend.wait_for_requests(waiting, 10s)) << backend.request_count();
        const auto status = first.terminate(15s);
        const auto result = load.get();
        EXPECT_EQ(status, 0) << "the proxy did not exit cleanly";
        ids = queued_ids(result, waiting);
    }
    ASSERT_EQ(ids.size(), waiting);
    ASSERT_TRUE(broker.up());

    spillway_proxy second({backend.url(), broker.bootstrap(), spool.path(), outage_settings()});
    EXPECT_TRUE(wait_for_records(broker.bootstrap(), waiting, 30s))
        << "what was answered queued at shutdown did not arrive after restart: "
        << records_in_topic(broker.bootstrap()) << " records";
    EXPECT_EQ(second.terminate(), 0);
    const auto records = read_topic(broker.bootstrap());
    expect_exactly_once(records, ids);
    for (const auto& r : records) {
        ASSERT_TRUE(r.envelope.has_value()) << r.parse_error;
        EXPECT_EQ(r.envelope->failure.status, 502u);
        EXPECT_EQ(r.message.header("spillway-failure"), "upstream_status");
    }
    expect_schema_valid(records);
}

}  // namespace
}  // namespace spillway::test::capture_suite
