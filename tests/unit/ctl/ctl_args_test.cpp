// spillway-ctl's command line: every command with its options, and each usage mistake named.

#include "spillway/ctl/ctl_args.hpp"

#include <gtest/gtest.h>

namespace spillway::ctl {
namespace {

ctl_request parsed(std::vector<std::string> args) {
    auto r = parse_ctl_args(args);
    if (auto* e = std::get_if<usage_error>(&r)) {
        ADD_FAILURE() << e->message;
        return {};
    }
    return std::get<ctl_request>(r);
}

std::string refused(std::vector<std::string> args) {
    auto r = parse_ctl_args(args);
    if (auto* e = std::get_if<usage_error>(&r)) {
        return e->message;
    }
    return "(accepted)";
}

TEST(CtlArgs, RedriveWithEveryFilterAndOption) {
    const auto r = parsed({"redrive",
                           "--id",
                           "a",
                           "--id",
                           "b",
                           "--kind",
                           "upstream_status",
                           "--reason",
                           "status 500",
                           "--status",
                           "500",
                           "--method",
                           "POST",
                           "--path-prefix",
                           "/api/",
                           "--since",
                           "2026-12-01T00:00:00Z",
                           "--until",
                           "2026-12-02T00:00:00+01:00",
                           "--dry-run",
                           "--rate",
                           "2.5",
                           "--limit",
                           "10",
                           "--force"});
    EXPECT_EQ(r.command, ctl_command::redrive);
    EXPECT_EQ(r.filter.ids, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(r.filter.kind, core::failure_kind::upstream_status);
    EXPECT_EQ(r.filter.reason, "status 500");
    EXPECT_EQ(r.filter.status, 500u);
    EXPECT_EQ(r.filter.method, "POST");
    EXPECT_EQ(r.filter.path_prefix, "/api/");
    EXPECT_TRUE(r.filter.since && r.filter.until);
    EXPECT_TRUE(r.dry_run);
    EXPECT_DOUBLE_EQ(r.rate, 2.5);
    EXPECT_EQ(r.limit, 10u);
    EXPECT_TRUE(r.force);
}

TEST(CtlArgs, TailFindStats) {
    const auto t = parsed({"tail", "--topic", "failed-requests.dlq", "--from-beginning", "--format",
                           "json", "--kind", "timeout"});
    EXPECT_EQ(t.command, ctl_command::tail);
    EXPECT_EQ(t.topic, "failed-requests.dlq");
    EXPECT_TRUE(t.from_beginning);
    EXPECT_EQ(t.format, replay::tail_format::json);
    EXPECT_EQ(t.filter.kind, core::failure_kind::timeout);
    EXPECT_EQ(parsed({"find", "0f8e"}).id, "0f8e");
    EXPECT_EQ(parsed({"stats"}).command, ctl_command::stats);
}

TEST(CtlArgs, EachMistakeSaysWhatWasWrong) {
    EXPECT_EQ(refused({}), "a command is needed: tail, find, stats or redrive");
    EXPECT_EQ(refused({"purge"}), "purge: not a command (tail, find, stats, redrive)");
    EXPECT_EQ(refused({"find"}), "find: which request id?");
    EXPECT_EQ(refused({"find", "a", "b"}), "b: unexpected (spillway-ctl --help)");
    EXPECT_EQ(refused({"stats", "--dry-run"}),
              "--dry-run: not an option of this command (spillway-ctl --help)");
    EXPECT_EQ(refused({"tail", "--force"}),
              "--force: not an option of this command (spillway-ctl --help)");
    EXPECT_EQ(refused({"redrive", "--kind"}), "--kind: needs a value");
    EXPECT_EQ(refused({"redrive", "--kind", "boom"}),
              "--kind: boom is not a failure kind (connect_error, timeout, upstream_status, "
              "upstream_reset, circuit_open)");
    EXPECT_EQ(refused({"redrive", "--status", "99"}),
              "--status: 99 is not an HTTP status (100..599)");
    EXPECT_EQ(refused({"redrive", "--status", "5x"}),
              "--status: 5x is not an HTTP status (100..599)");
    EXPECT_EQ(refused({"redrive", "--rate", "0"}),
              "--rate: 0 is not a positive number of records per second");
    EXPECT_EQ(refused({"redrive", "--rate", "nan"}),
              "--rate: nan is not a positive number of records per second");
    EXPECT_EQ(refused({"redrive", "--limit", "-1"}), "--limit: -1 is not a positive whole number");
    EXPECT_EQ(refused({"redrive", "--path-prefix", "api"}),
              "--path-prefix: api does not start with /");
    EXPECT_EQ(refused({"redrive", "--since", "yesterday"}),
              "--since: yesterday is not an RFC 3339 time (2026-12-01T10:00:00Z)");
    EXPECT_EQ(
        refused({"redrive", "--since", "2026-12-02T00:00:00Z", "--until", "2026-12-01T00:00:00Z"}),
        "--since must be before --until");
    EXPECT_EQ(refused({"tail", "--format", "xml"}),
              "--format: expected text, json or curl, not xml");
}

}  // namespace
}  // namespace spillway::ctl
