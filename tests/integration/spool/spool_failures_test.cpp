// What goes wrong under the spool and the producer, against the real `spillway` binary, over
// loopback sockets and spillway-devbroker: a delivered record the spool cannot delete, quarantined
// records filling the spool, a full disk, and a fatal error of the idempotent producer. In each
// case nothing answered "queued" is lost or sent twice, and the operator is told (/ready, a
// metric, a log line with the request id).

#include "spillway/spool/spool.hpp"
#include "spillway/spool/sqlite.hpp"

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/proxy_fixture.hpp"
#include "unit/spool/spool_fixtures.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <sstream>

namespace spillway::test::spool_suite {
namespace {

constexpr int delivery_timeout_ms = 1000;

nlohmann::json outage_settings() {
    return {{"kafka", {{"delivery_timeout_ms", delivery_timeout_ms}}}};
}

response ready(const spillway_proxy& p) {
    return fetch(p.admin_port(), "GET", "/ready");
}

bool metric_at_least(const spillway_proxy& p, std::string_view name, double value,
                     const std::map<std::string, std::string>& labels = {}) {
    const auto v = p.metric(name, labels);
    return v && *v >= value;
}

// Every line of the proxy's output holding `text`, joined ("" when none).
std::string output_lines(process& proc, std::string_view text) {
    std::istringstream lines(proc.stdout_text() + proc.stderr_text());
    std::string out;
    for (std::string line; std::getline(lines, line);) {
        if (line.find(text) != std::string::npos) {
            out += line + "\n";
        }
    }
    return out;
}

// SQLite itself refuses every DELETE of a spooled record (a trigger on the proxy's own file), as
// a failing disk would: the proxy's real statement fails.
class refused_deletes {
public:
    explicit refused_deletes(const std::filesystem::path& db)
        : db_(spool::sqlite::open(db.string(), SQLITE_OPEN_READWRITE)) {
        sqlite3_busy_timeout(db_.get(), 5000);
        spool::sqlite::exec_or_throw(db_.get(),
                                     "CREATE TRIGGER refuse_delete BEFORE DELETE ON records BEGIN "
                                     "SELECT RAISE(ABORT, 'injected: delete refused'); END");
    }
    void lift() { spool::sqlite::exec_or_throw(db_.get(), "DROP TRIGGER refuse_delete"); }

private:
    spool::sqlite::db_ptr db_;
};

TEST(SpoolFailures, ADeliveredRecordTheSpoolCannotDeleteIsShownRetriedAndSentOnce) {
    devbroker broker;
    temp_dir spool_dir("spillway-spool-failures");
    spillway_proxy p({dead_backend_url(), broker.bootstrap(), spool_dir.path(), outage_settings()});
    ASSERT_TRUE(broker.down());
    std::set<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.insert(expect_captured(fetch(p.port(), "POST", "/during-outage")));
    }
    ASSERT_EQ(ids.size(), 3u);
    ASSERT_EQ(p.metric("spillway_spool_records"), 3.0);
    refused_deletes refusal(spool_dir / "spool.db");

    ASSERT_TRUE(broker.up());
    ASSERT_TRUE(wait_for_records(broker.bootstrap(), 3, 30s));
    ASSERT_TRUE(wait_until(
        [&] { return metric_at_least(p, "spillway_spool_delete_failures_total", 3); }, 20s));
    EXPECT_EQ(p.metric("spillway_spool_records"), 3.0);
    // /ready says it (between two retries: a retry in progress clears the count for a moment).
    ASSERT_TRUE(wait_until(
        [&] {
            return ready(p).body.find("spool cannot delete 3 delivered records") !=
                   std::string::npos;
        },
        10s))
        << ready(p).body;
    EXPECT_EQ(ready(p).status, 503u);
    // The log line names every request id.
    const auto line = output_lines(p.proc(), "could not be deleted");
    for (const auto& id : ids) {
        EXPECT_NE(line.find(id), std::string::npos) << id << " not in: " << line;
    }
    // Retried, and meanwhile nothing is sent again.
    ASSERT_TRUE(wait_until(
        [&] { return metric_at_least(p, "spillway_spool_delete_failures_total", 6); }, 20s));
    EXPECT_EQ(records_in_topic(broker.bootstrap()), 3);

    refusal.lift();
    EXPECT_TRUE(wait_until([&] { return p.metric("spillway_spool_records") == 0.0; }, 30s));
    EXPECT_EQ(p.metric("spillway_spool_undeleted_records"), 0.0);
    EXPECT_EQ(ready(p).status, 200u) << ready(p).body;
    EXPECT_EQ(p.terminate(), 0);
    expect_exactly_once(read_topic(broker.bootstrap()), ids);
}

TEST(SpoolFailures, QuarantinedRecordsCountTowardsAFullSpoolAndReadySaysSo) {
    temp_dir spool_dir("spillway-spool-failures");
    std::uint64_t quarantined = 0;
    {
        // Two records Kafka refused for good, left in the quarantine by an earlier run.
        spool::spool s(config::spool_config{spool_dir.path().string(), 1ull << 30});
        ASSERT_FALSE(spool::testing::append_all_and_wait(s, 0, 2, 100 * 1024));
        for (const auto& r : s.read_after(0, 10, 1ull << 30)) {
            std::promise<bool> moved;
            s.quarantine(r.seq, "Broker: Message size too large",
                         [&](bool ok) { moved.set_value(ok); });
            ASSERT_TRUE(moved.get_future().get());
        }
        quarantined = s.quarantined_bytes();
    }
    ASSERT_GT(quarantined, 0u);
    const std::uint64_t max_bytes = quarantined + quarantined / 20;  // 95 % taken
    spillway_proxy p(
        {dead_backend_url(), "", spool_dir.path(), {{"spool", {{"max_bytes", max_bytes}}}}});
    EXPECT_EQ(p.metric("spillway_spool_records"), 0.0);
    EXPECT_EQ(p.metric("spillway_spool_quarantined_bytes"), static_cast<double>(quarantined));
    const auto res = ready(p);
    EXPECT_EQ(res.status, 503u);
    EXPECT_NE(res.body.find("spool "), std::string::npos) << res.body;
    EXPECT_NE(res.body.find("full ("), std::string::npos) << res.body;
    EXPECT_NE(res.body.find(std::to_string(quarantined) + " of them quarantined"),
              std::string::npos)
        << res.body;
}

TEST(SpoolFailures, AFullDiskAnswersQueuedFalseCountsItAndKeepsServing) {
    temp_dir spool_dir("spillway-spool-failures");
    proxy_options options{dead_backend_url(), "", spool_dir.path(), {}};
    // Kafka unreachable: every capture goes to the spool, whose files may not pass 1 MiB.
    options.max_file_size = 1 << 20;
    spillway_proxy p(options);
    const std::string body(200 * 1024, 'x');
    std::optional<response> refused;
    int queued = 0;
    for (int i = 0; i < 20 && !refused; ++i) {
        auto res = fetch(p.port(), "POST", "/upload", {{"Content-Type", "text/plain"}}, body);
        if (res.body.find("\"queued\":false") != std::string::npos) {
            refused = std::move(res);
        } else {
            expect_captured(res);
            ++queued;
        }
    }
    ASSERT_TRUE(refused) << "the spool never failed";
    EXPECT_GT(queued, 0);
    const auto id = expect_captured(*refused, false);
    EXPECT_TRUE(p.proc().wait_for_output("request " + id + " NOT stored"));
    EXPECT_TRUE(metric_at_least(p, "spillway_spool_commit_failures_total", 1));
    EXPECT_EQ(p.metric("spillway_captured_total", {{"failure", "connect_error"}, {"sink", "none"}}),
              1.0);
    EXPECT_EQ(p.metric("spillway_spool_records"), static_cast<double>(queued));
    const auto r = ready(p);
    EXPECT_EQ(r.status, 503u);
    EXPECT_NE(r.body.find("spool not writable"), std::string::npos) << r.body;
    // Still serving: its own health, and the next capture answered (not queued) at once.
    EXPECT_EQ(fetch(p.port(), "GET", "/health").status, 200u);
    expect_captured(fetch(p.port(), "POST", "/upload", {{"Content-Type", "text/plain"}}, body),
                    false);
    EXPECT_TRUE(p.proc().running());
    EXPECT_EQ(p.terminate(), 0);
}

TEST(SpoolFailures, AFatalProducerErrorStopsTheProxyAndTheNextOneDrainsItsSpool) {
    devbroker broker;
    temp_dir spool_dir("spillway-spool-failures");
    std::set<std::string> ids;
    {
        proxy_options options{dead_backend_url(), broker.bootstrap(), spool_dir.path(),
                              outage_settings()};
        options.env = {{"SPILLWAY_TEST_HOOKS", "1"}};
        spillway_proxy first(options);
        ids.insert(expect_captured(fetch(first.port(), "POST", "/before")));
        ASSERT_TRUE(wait_for_records(broker.bootstrap(), 1));
        EXPECT_EQ(first.metric("spillway_kafka_producer_fatal"), 0.0);
        ASSERT_TRUE(broker.down());
        for (int i = 0; i < 3; ++i) {
            ids.insert(expect_captured(fetch(first.port(), "POST", "/during-outage")));
        }
        ASSERT_EQ(first.metric("spillway_spool_records"), 3.0);

        first.proc().signal(SIGUSR2);  // SPILLWAY_TEST_HOOKS: rd_kafka_test_fatal_error
        const auto status = first.proc().wait_exit(30s);
        ASSERT_TRUE(status) << "the proxy did not stop after a fatal producer error";
        EXPECT_EQ(*status, 1);
        EXPECT_NE(output_lines(first.proc(), "the Kafka producer failed for good"), "");
    }
    ASSERT_EQ(ids.size(), 4u);
    ASSERT_TRUE(broker.up());
    spillway_proxy second(
        {dead_backend_url(), broker.bootstrap(), spool_dir.path(), outage_settings()});
    EXPECT_TRUE(wait_for_records(broker.bootstrap(), 4, 30s));
    EXPECT_TRUE(wait_until([&] { return second.metric("spillway_spool_records") == 0.0; }, 10s));
    EXPECT_EQ(second.terminate(), 0);
    expect_exactly_once(read_topic(broker.bootstrap()), ids);
}

}  // namespace
}  // namespace spillway::test::spool_suite
