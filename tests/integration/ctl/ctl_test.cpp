// spillway-ctl against the devbroker, with kcat as the independent reader: redrive sends exactly
// the dead letters asked for, each at most once however often it runs and across a kill -9, with
// the fields and header DESIGN.md lists, and the replay delivers a redriven one under its
// original Idempotency-Key; find and stats on known data; usage mistakes exit 2.

#include "integration/replay/replay_fixture.hpp"
#include "support/kcat.hpp"

#include <nlohmann/json.hpp>

#include <csignal>

namespace spillway::test::replay {
namespace {

struct dead_letter_spec {
    std::string reason = "backend answered 500";
    std::optional<unsigned> last_status = 500u;
    std::string method = "POST";
    std::string uri = "/api/orders";
    core::failure_kind kind = core::failure_kind::upstream_status;
    std::string received_at = "2026-12-01T10:00:00.000Z";
    unsigned redrives = 0;
};

class CtlTest : public ReplayTest {
protected:
    void SetUp() override { start_environment({.partitions = 3}); }

    // Produces a dead letter to the dead-letter topic (keyed by its id) and returns its id.
    std::string dead_letter(const dead_letter_spec& spec = {}) {
        auto e = make_envelope(spec.uri);
        e.method = spec.method;
        e.failure.kind = spec.kind;
        if (spec.kind == core::failure_kind::upstream_status) {
            e.failure.status = spec.last_status.value_or(502);
        }
        e.received_at = spec.received_at;
        e.attempts = 10;
        e.dlq = envelope::dlq_info{spec.reason, spec.last_status, 10, "2026-12-01T10:05:00Z"};
        auto json = nlohmann::ordered_json::parse(envelope::to_json(e));
        if (spec.redrives > 0) {
            json["redrives"] = spec.redrives;
        }
        kcat::produce(broker_->bootstrap(), "failed-requests.dlq", e.id, json.dump());
        return e.id;
    }

    command_result ctl(std::vector<std::string> args) {
        process_options o;
        o.path = bin_path("spillway-ctl");
        o.args = {"--config", config_path()};
        o.args.insert(o.args.end(), args.begin(), args.end());
        return run_command(std::move(o), 60s);
    }

    // The main topic's records that redrive wrote, read with kcat.
    std::vector<kcat::message> redriven() {
        std::vector<kcat::message> out;
        for (auto& m : kcat::consume_all(broker_->bootstrap(), "failed-requests")) {
            if (m.header("spillway-redrive-of")) {
                out.push_back(std::move(m));
            }
        }
        return out;
    }
};

std::string last_line(const std::string& text) {
    auto end = text.find_last_not_of('\n');
    if (end == std::string::npos) {
        return "";
    }
    const auto start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1));
}

TEST_F(CtlTest, DryRunPrintsWhatWouldBeSentAndSendsNothing) {
    dead_letter();
    dead_letter();
    const auto r = ctl({"redrive", "--dry-run"});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(last_line(r.out), "redrive (dry run): 2 matched, 2 would be sent, 0 skipped");
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
    EXPECT_EQ(kcat::total_end_offset(broker_->bootstrap(), "failed-requests"), 0);
}

TEST_F(CtlTest, RedriveByReasonSendsExactlyTheMatchesOnceWithTheirFieldsAndHeader) {
    const auto a = dead_letter();
    const auto b = dead_letter();
    dead_letter({.reason = "invalid envelope: body: invalid base64", .last_status = std::nullopt});
    const auto dlq_before = kcat::consume_all(broker_->bootstrap(), "failed-requests.dlq");

    auto r = ctl({"redrive", "--reason", "answered 500"});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(last_line(r.out), "redrive: 2 matched, 2 sent, 0 skipped");
    auto sent = redriven();
    ASSERT_EQ(sent.size(), 2u);
    std::set<std::string> ids;
    for (const auto& m : sent) {
        const auto json = nlohmann::json::parse(m.value);
        ids.insert(json["id"].get<std::string>());
        EXPECT_FALSE(json.contains("dlq")) << m.value;
        EXPECT_EQ(json["attempts"], 0);
        EXPECT_EQ(json["redrives"], 1);
        EXPECT_EQ(m.key, json["id"].get<std::string>()) << "the record key it had";
        EXPECT_EQ(m.header("spillway-id"), json["id"].get<std::string>());
        const auto of = *m.header("spillway-redrive-of");
        EXPECT_TRUE(of == "0@0" || of == "0@1") << of;
        EXPECT_TRUE(std::holds_alternative<envelope::envelope>(envelope::parse_envelope(m.value)))
            << "a valid envelope for the replay";
    }
    EXPECT_EQ(ids, (std::set<std::string>{a, b}));

    // The same redrive again sends nothing; the dead-letter topic is unchanged.
    r = ctl({"redrive", "--reason", "answered 500"});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(last_line(r.out), "redrive: 2 matched, 0 sent, 2 skipped (2 sent back before)");
    EXPECT_EQ(redriven().size(), 2u);
    const auto dlq_after = kcat::consume_all(broker_->bootstrap(), "failed-requests.dlq");
    ASSERT_EQ(dlq_after.size(), dlq_before.size());
    for (std::size_t i = 0; i < dlq_after.size(); ++i) {
        EXPECT_EQ(dlq_after[i].value, dlq_before[i].value);
    }
}

TEST_F(CtlTest, EachFilterSelectsItsDeadLetters) {
    const auto id = dead_letter({.method = "PUT", .uri = "/api/users/7"});
    dead_letter({.reason = "timed out",
                 .last_status = std::nullopt,
                 .kind = core::failure_kind::timeout,
                 .received_at = "2026-12-02T10:00:00.000Z"});
    dead_letter({.last_status = 503u, .uri = "/other"});
    const auto matched = [&](std::vector<std::string> filter) {
        filter.insert(filter.begin(), {"redrive", "--dry-run"});
        const auto r = ctl(filter);
        EXPECT_EQ(r.exit_status, 0) << r.err;
        const auto line = last_line(r.out);
        return line.substr(0, line.find(" matched"));
    };
    EXPECT_EQ(matched({}), "redrive (dry run): 3");
    EXPECT_EQ(matched({"--id", id}), "redrive (dry run): 1");
    EXPECT_EQ(matched({"--id", id, "--id", "nobody"}), "redrive (dry run): 1");
    EXPECT_EQ(matched({"--kind", "timeout"}), "redrive (dry run): 1");
    EXPECT_EQ(matched({"--kind", "upstream_status"}), "redrive (dry run): 2");
    EXPECT_EQ(matched({"--reason", "timed"}), "redrive (dry run): 1");
    EXPECT_EQ(matched({"--status", "503"}), "redrive (dry run): 1");
    EXPECT_EQ(matched({"--method", "PUT"}), "redrive (dry run): 1");
    EXPECT_EQ(matched({"--path-prefix", "/api/"}), "redrive (dry run): 2");
    EXPECT_EQ(matched({"--since", "2026-12-02T00:00:00Z"}), "redrive (dry run): 1");
    EXPECT_EQ(matched({"--until", "2026-12-02T00:00:00Z"}), "redrive (dry run): 2");
    EXPECT_EQ(matched({"--kind", "upstream_status", "--path-prefix", "/other"}),
              "redrive (dry run): 1");
}

TEST_F(CtlTest, MaxRedrivesSkipsUnlessForced) {
    const auto tired = dead_letter({.redrives = 3});
    dead_letter({.redrives = 2});
    auto r = ctl({"redrive"});
    EXPECT_EQ(last_line(r.out), "redrive: 2 matched, 1 sent, 1 skipped (1 at replay.max_redrives)")
        << r.err;
    r = ctl({"redrive", "--force", "--id", tired});
    EXPECT_EQ(last_line(r.out), "redrive: 1 matched, 1 sent, 0 skipped") << r.err;
    for (const auto& m : redriven()) {
        const auto json = nlohmann::json::parse(m.value);
        EXPECT_EQ(json["redrives"], json["id"] == tired ? 4 : 3);
    }
}

TEST_F(CtlTest, KilledMidwayAndRunAgainSendsEveryDeadLetterExactlyOnce) {
    constexpr int dead_letters = 40;
    for (int i = 0; i < dead_letters; ++i) {
        dead_letter();
    }
    process_options o;
    o.path = bin_path("spillway-ctl");
    o.args = {"--config", config_path(), "redrive", "--rate", "10"};
    auto first = process::start(std::move(o));
    ASSERT_TRUE(wait_until(
        [&] { return kcat::total_end_offset(broker_->bootstrap(), "failed-requests") >= 5; }, 30s));
    first.signal(SIGKILL);
    ASSERT_EQ(first.wait_exit(10s), std::optional<int>(128 + SIGKILL));
    const auto before = redriven().size();
    EXPECT_LT(before, static_cast<std::size_t>(dead_letters)) << "killed midway, not at the end";

    const auto r = ctl({"redrive"});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    std::map<std::string, int> copies;
    for (const auto& m : redriven()) {
        ++copies[*m.header("spillway-redrive-of")];
    }
    EXPECT_EQ(copies.size(), static_cast<std::size_t>(dead_letters));
    for (const auto& [of, n] : copies) {
        EXPECT_EQ(n, 1) << of << " sent " << n << " times";
    }
}

TEST_F(CtlTest, RedrivenDeadLetterIsDeliveredUnderItsOriginalIdempotencyKey) {
    const auto id = dead_letter();
    ASSERT_EQ(ctl({"redrive"}).exit_status, 0);
    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(1, 30s));
    const auto requests = backend_->requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].header("Idempotency-Key"), id);
}

TEST_F(CtlTest, FindAndStatsOnKnownData) {
    const auto queued = make_envelope("/api/queued");
    produce_envelopes(broker_->bootstrap(), "failed-requests", {queued});
    const auto dead = dead_letter({.reason = "backend answered 500"});
    dead_letter(
        {.reason = "timed out", .last_status = std::nullopt, .kind = core::failure_kind::timeout});
    dead_letter(
        {.reason = "timed out", .last_status = std::nullopt, .kind = core::failure_kind::timeout});

    auto r = ctl({"find", queued.id});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_NE(r.out.find("failed-requests "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("/api/queued"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("replay: waiting"), std::string::npos) << r.out;
    r = ctl({"find", dead});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_NE(r.out.find("failed-requests.dlq "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" dlq: backend answered 500\n"), std::string::npos) << r.out;
    r = ctl({"find", "no-such-id"});
    EXPECT_EQ(r.exit_status, 1);
    EXPECT_NE(r.err.find("no record of no-such-id"), std::string::npos) << r.err;

    r = ctl({"stats"});
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_NE(r.out.find("failed-requests: 3 partitions, 1 records"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  lag 1\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("- " + std::string(10 - 1, ' ') + "1\n"), std::string::npos)
        << "one partition with 1 record and nothing committed: " << r.out;
    EXPECT_NE(r.out.find("failed-requests.dlq: 1 partitions, 3 dead letters"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("          2  timed out\n          1  backend answered 500\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("          2  timeout\n          1  upstream_status\n"), std::string::npos)
        << r.out;
}

TEST_F(CtlTest, UsageMistakesExitTwoAndKafkaDownExitsOne) {
    auto r = ctl({"redrive", "--status", "abc"});
    EXPECT_EQ(r.exit_status, 2);
    EXPECT_EQ(r.err, "spillway-ctl: --status: abc is not an HTTP status (100..599)\n");
    r = ctl({});
    EXPECT_EQ(r.exit_status, 2);
    EXPECT_NE(r.err.find("a command is needed"), std::string::npos) << r.err;

    settings_.settings = {{"kafka", {{"brokers", "127.0.0.1:1"}}}};
    r = ctl({"stats"});
    EXPECT_EQ(r.exit_status, 1) << r.out;
    EXPECT_NE(r.err.find("spillway-ctl: Kafka at 127.0.0.1:1: "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace spillway::test::replay
