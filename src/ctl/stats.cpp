#include "spillway/ctl/commands.hpp"
#include "spillway/ctl/topic_scan.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <map>

namespace spillway::ctl {

namespace {

// Counts, largest first (then by name), as "  N  name" lines.
void print_counts(std::ostream& out, const std::map<std::string, std::uint64_t>& counts) {
    std::vector<std::pair<std::string, std::uint64_t>> rows(counts.begin(), counts.end());
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& [name, n] : rows) {
        out << fmt::format("  {:>9}  {}\n", n, name);
    }
}

std::int64_t records_in(const std::vector<partition_extent>& extents) {
    std::int64_t n = 0;
    for (const auto& e : extents) {
        n += e.high - e.low;
    }
    return n;
}

}  // namespace

int run_stats(const command_context& ctx) {
    topic_scanner scanner(ctx.cfg, ctx.timeout);
    const auto& main_topic = ctx.cfg.kafka.topic;
    const auto& group = ctx.cfg.replay.group_id;

    const auto extents = scanner.extents(main_topic);
    const auto committed = scanner.committed(group, main_topic, extents);
    ctx.out << main_topic << ": " << extents.size() << " partitions, " << records_in(extents)
            << " records\n";
    ctx.out << fmt::format("  {:>9} {:>12} {:>12} {:>12} {:>10}   (replay group {})\n", "partition",
                           "oldest", "end", "committed", "lag", group);
    std::int64_t total_lag = 0;
    for (const auto& e : extents) {
        const auto c = committed.find(e.partition);
        // Nothing committed: the group starts at the oldest record (auto.offset.reset earliest).
        const auto from = c != committed.end() ? std::max(c->second, e.low) : e.low;
        const auto lag = std::max<std::int64_t>(e.high - from, 0);
        total_lag += lag;
        ctx.out << fmt::format("  {:>9} {:>12} {:>12} {:>12} {:>10}\n", e.partition, e.low, e.high,
                               c != committed.end() ? std::to_string(c->second) : "-", lag);
    }
    ctx.out << "  lag " << total_lag << '\n';

    std::map<std::string, std::uint64_t> by_reason;
    std::map<std::string, std::uint64_t> by_kind;
    std::uint64_t dead_letters = 0;
    const auto dlq_extents = scanner.scan(ctx.cfg.replay.dlq_topic, [&](const scanned_record& r) {
        ++dead_letters;
        // Read as JSON only: a dead letter that was never a valid envelope (wrapped as "raw")
        // has its reason in `dlq` too.
        const auto doc = nlohmann::json::parse(r.value, nullptr, false);
        const auto text_at = [&doc](const char* object, const char* member) -> std::string {
            if (doc.is_object() && doc.contains(object) && doc[object].is_object()) {
                const auto& v = doc[object];
                if (v.contains(member) && v[member].is_string()) {
                    return v[member].get<std::string>();
                }
            }
            return {};
        };
        const auto reason = text_at("dlq", "reason");
        const auto kind = text_at("failure", "kind");
        ++by_reason[reason.empty() ? std::string("(no dlq.reason)") : reason];
        ++by_kind[kind.empty() ? std::string("(not an envelope)") : kind];
    });
    ctx.out << ctx.cfg.replay.dlq_topic << ": " << dlq_extents.size() << " partitions, "
            << dead_letters << " dead letters\n";
    if (dead_letters > 0) {
        ctx.out << "  by reason:\n";
        print_counts(ctx.out, by_reason);
        ctx.out << "  by failure kind:\n";
        print_counts(ctx.out, by_kind);
    }
    return 0;
}

}  // namespace spillway::ctl
