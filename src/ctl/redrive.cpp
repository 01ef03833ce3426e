// `spillway-ctl redrive`: matching dead letters back to kafka.topic, each at most once however
// often it runs, and none lost when a run is killed (docs/operations.md, "Redrive").
//
// The ledger is the main topic itself. Every record redrive writes carries the header
// spillway-redrive-of: <partition>@<offset>, the dead letter it came from. A run first reads the
// main topic whole and collects those headers; a dead letter found among them was sent back
// before and is skipped. The others are produced with acks=all by an idempotent producer.
// - Killed -9 midway: a record that was acknowledged is in the main topic with its header, so
//   the next run skips its dead letter; one that was not written is not there, and is sent.
//   A produce request still on the wire when the process died is finished or dropped by the
//   broker as its connection closes, before a new run has connected and read the end offsets.
// - Not a lock: two runs at the same moment both read the ledger before either writes, and
//   would both send. Run one at a time (the runbook says so).
// - The ledger lasts as long as the main topic keeps its records: keep the dead-letter topic's
//   retention no longer than the main topic's, or an old dead letter can be sent back again.
// The dead-letter topic is only read, never changed.

#include "spillway/ctl/commands.hpp"
#include "spillway/ctl/topic_scan.hpp"
#include "spillway/kafka/handles.hpp"
#include "spillway/replay/tail_format.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <thread>

namespace spillway::ctl {

namespace {

using clock = std::chrono::steady_clock;

struct skips {
    std::uint64_t sent_before = 0;
    std::uint64_t at_max = 0;
    std::uint64_t body_omitted = 0;
    std::uint64_t invalid = 0;
    std::uint64_t past_limit = 0;

    std::uint64_t total() const {
        return sent_before + at_max + body_omitted + invalid + past_limit;
    }
    std::string describe() const {
        std::string out;
        const auto add = [&out](std::uint64_t n, const char* what) {
            if (n > 0) {
                out += (out.empty() ? " (" : ", ") + std::to_string(n) + " " + what;
            }
        };
        add(sent_before, "sent back before");
        add(at_max, "at replay.max_redrives");
        add(body_omitted, "without their body");
        add(invalid, "not an envelope");
        add(past_limit, "past --limit");
        return out.empty() ? out : out + ")";
    }
};

struct deliveries {
    std::uint64_t acknowledged = 0;
    std::uint64_t failed = 0;
    std::string first_error;
};

void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
    auto& d = *static_cast<deliveries*>(opaque);
    if (msg->err) {
        if (d.failed++ == 0) {
            d.first_error = rd_kafka_err2str(msg->err);
        }
    } else {
        ++d.acknowledged;
    }
}

// The dead letter as a main-topic envelope: without `dlq`, `attempts` 0, `redrives` one more;
// every other member as it was, in its order. nullopt when the value is no JSON object.
std::optional<std::string> redriven_value(const std::string& dead_letter, unsigned redrives) {
    auto doc = nlohmann::ordered_json::parse(dead_letter, nullptr, false);
    if (!doc.is_object()) {
        return std::nullopt;
    }
    doc.erase("dlq");
    doc["attempts"] = 0;
    doc["redrives"] = redrives + 1;
    return doc.dump();
}

unsigned redrives_of(const std::string& dead_letter) {
    const auto doc = nlohmann::json::parse(dead_letter, nullptr, false);
    if (doc.is_object() && doc.contains("redrives") && doc["redrives"].is_number_unsigned()) {
        return doc["redrives"].get<unsigned>();
    }
    return 0;
}

class redrive_producer {
public:
    explicit redrive_producer(const config::config& cfg) {
        auto conf = kafka::build_conf(cfg.kafka, kafka::producer_defaults(cfg.kafka));
        rd_kafka_conf_set_dr_msg_cb(conf.get(), &on_delivery);
        rd_kafka_conf_set_opaque(conf.get(), &deliveries_);
        rk_ = kafka::make_client(RD_KAFKA_PRODUCER, std::move(conf));
    }

    // Queues one record; waits while librdkafka's queue is full.
    void send(const std::string& topic, const std::string& key, const std::string& value,
              const std::string& id, const std::string& redrive_of) {
        for (;;) {
            const auto err = rd_kafka_producev(
                rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_HEADER("spillway-id", id.data(), static_cast<ssize_t>(id.size())),
                RD_KAFKA_V_HEADER("spillway-redrive-of", redrive_of.data(),
                                  static_cast<ssize_t>(redrive_of.size())),
                RD_KAFKA_V_END);
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                if (err) {
                    on_failure(rd_kafka_err2str(err));
                }
                break;
            }
            rd_kafka_poll(rk_.get(), 100);
        }
        rd_kafka_poll(rk_.get(), 0);
    }

    // Waits for every delivery report (bounded); what is still unacknowledged counts as failed.
    const deliveries& finish(std::chrono::milliseconds bound) {
        rd_kafka_flush(rk_.get(), static_cast<int>(bound.count()));
        const auto left = rd_kafka_outq_len(rk_.get());
        if (left > 0) {
            deliveries_.failed += static_cast<std::uint64_t>(left);
            if (deliveries_.first_error.empty()) {
                deliveries_.first_error = "not acknowledged in time";
            }
        }
        return deliveries_;
    }

private:
    void on_failure(const std::string& why) {
        if (deliveries_.failed++ == 0) {
            deliveries_.first_error = why;
        }
    }

    deliveries deliveries_;
    kafka::kafka_handle rk_;
};

}  // namespace

int run_redrive(const command_context& ctx, const ctl_request& request) {
    const auto& main_topic = ctx.cfg.kafka.topic;
    topic_scanner scanner(ctx.cfg, ctx.timeout);
    std::set<std::string> sent_before;
    scanner.scan(main_topic, [&](const scanned_record& r) {
        if (const auto* of = r.header("spillway-redrive-of")) {
            sent_before.insert(*of);
        }
    });

    std::optional<redrive_producer> producer;
    if (!request.dry_run) {
        producer.emplace(ctx.cfg);
    }
    const auto interval = request.rate > 0 ? std::chrono::duration_cast<clock::duration>(
                                                 std::chrono::duration<double>(1.0 / request.rate))
                                           : clock::duration::zero();
    auto next_send = clock::now();
    std::uint64_t matched = 0;
    std::uint64_t sending = 0;
    skips skipped;
    scanner.scan(ctx.cfg.replay.dlq_topic, [&](const scanned_record& r) {
        const auto parsed = envelope::parse_envelope(r.value);
        const auto* e = std::get_if<envelope::envelope>(&parsed);
        // A record that is no envelope matches only when nothing is filtered.
        if (e == nullptr ? !filters_nothing(request.filter) : !matches(request.filter, *e)) {
            return;
        }
        ++matched;
        const auto position = std::to_string(r.partition) + "@" + std::to_string(r.offset);
        if (sent_before.contains(position)) {
            ++skipped.sent_before;
            return;
        }
        if (e == nullptr) {
            ++skipped.invalid;
            return;
        }
        if (r.header("spillway-dlq-body-omitted") != nullptr) {
            ++skipped.body_omitted;  // its body is only in the source record
            return;
        }
        const auto redrives = redrives_of(r.value);
        if (redrives >= ctx.cfg.replay.max_redrives && !request.force) {
            ++skipped.at_max;
            return;
        }
        if (request.limit && sending >= *request.limit) {
            ++skipped.past_limit;
            return;
        }
        const auto value = redriven_value(r.value, redrives);
        if (!value ||
            std::holds_alternative<envelope::parse_error>(envelope::parse_envelope(*value))) {
            ++skipped.invalid;
            return;
        }
        ++sending;
        if (request.dry_run) {
            ctx.out << "would send "
                    << replay::format_tail_line(replay::tail_format::text, *value,
                                                {r.partition, r.offset}, ctx.cfg.backend.url)
                    << " (from " << ctx.cfg.replay.dlq_topic << ")\n";
            return;
        }
        if (interval > clock::duration::zero()) {
            std::this_thread::sleep_until(next_send);
            next_send = std::max(next_send + interval, clock::now());
        }
        producer->send(main_topic, r.key.empty() ? e->id : r.key, *value, e->id, position);
    });

    if (request.dry_run) {
        ctx.out << "redrive (dry run): " << matched << " matched, " << sending << " would be sent, "
                << skipped.total() << " skipped" << skipped.describe() << '\n';
        return 0;
    }
    const auto& d = producer->finish(std::max(ctx.timeout, ctx.cfg.kafka.delivery_timeout * 2));
    ctx.out << "redrive: " << matched << " matched, " << d.acknowledged << " sent, "
            << skipped.total() << " skipped" << skipped.describe() << '\n';
    if (d.failed > 0) {
        ctx.err << "redrive: " << d.failed << " not acknowledged (" << d.first_error
                << "); run it again: what was sent is skipped, the rest is sent\n";
        return 1;
    }
    return 0;
}

}  // namespace spillway::ctl
