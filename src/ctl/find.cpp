#include "spillway/ctl/commands.hpp"
#include "spillway/ctl/topic_scan.hpp"
#include "spillway/replay/dead_letter.hpp"
#include "spillway/replay/tail_format.hpp"

#include <nlohmann/json.hpp>

namespace spillway::ctl {

namespace {

bool holds(const scanned_record& r, const std::string& id) {
    if (r.key == id) {
        return true;
    }
    const auto* header = r.header("spillway-id");
    return (header != nullptr && *header == id) || replay::message_id(r.value) == id;
}

}  // namespace

int run_find(const command_context& ctx, const std::string& id) {
    topic_scanner scanner(ctx.cfg, ctx.timeout);
    const auto& main_topic = ctx.cfg.kafka.topic;
    const auto& dlq_topic = ctx.cfg.replay.dlq_topic;
    std::size_t found = 0;
    const auto extents = scanner.extents(main_topic);
    const auto committed = scanner.committed(ctx.cfg.replay.group_id, main_topic, extents);
    const auto print = [&](const std::string& topic, const scanned_record& r, std::string note) {
        ++found;
        ctx.out << topic << ' '
                << replay::format_tail_line(replay::tail_format::text, r.value,
                                            {r.partition, r.offset}, ctx.cfg.backend.url);
        if (const auto* of = r.header("spillway-redrive-of")) {
            note += " redrive-of=" + *of;
        }
        ctx.out << note << '\n';
    };
    scanner.scan(main_topic, [&](const scanned_record& r) {
        if (!holds(r, id)) {
            return;
        }
        const auto c = committed.find(r.partition);
        const bool passed = c != committed.end() && c->second > r.offset;
        print(main_topic, r,
              passed ? " replay: passed (delivered or dead-lettered)" : " replay: waiting");
    });
    scanner.scan(dlq_topic, [&](const scanned_record& r) {
        if (!holds(r, id)) {
            return;
        }
        const auto doc = nlohmann::json::parse(r.value, nullptr, false);
        std::string note;
        if (doc.is_object() && doc.contains("dlq") && doc["dlq"].is_object() &&
            doc["dlq"].contains("reason") && doc["dlq"]["reason"].is_string()) {
            note = " dlq: " + doc["dlq"]["reason"].get<std::string>();
        }
        print(dlq_topic, r, note);
    });
    if (found == 0) {
        ctx.err << "find: no record of " << id << " in " << main_topic << " or " << dlq_topic
                << '\n';
        return 1;
    }
    return 0;
}

}  // namespace spillway::ctl
