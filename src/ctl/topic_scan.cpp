#include "spillway/ctl/topic_scan.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/kafka/handles.hpp"

#include <algorithm>

namespace spillway::ctl {

namespace {

using clock = std::chrono::steady_clock;

kafka::kafka_handle make_reader(const config::config& cfg, const std::string& group) {
    auto defaults = kafka::consumer_defaults(cfg.kafka, group);
    defaults.emplace_back("enable.auto.commit", "false");
    defaults.emplace_back("enable.partition.eof", "true");
    defaults.emplace_back("client.id", "spillway-ctl");
    auto rk = kafka::make_client(RD_KAFKA_CONSUMER, kafka::build_conf(cfg.kafka, defaults));
    rd_kafka_poll_set_consumer(rk.get());
    return rk;
}

}  // namespace

const std::string* scanned_record::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (n == name) {
            return &v;
        }
    }
    return nullptr;
}

struct topic_scanner::impl {
    const config::config& cfg;
    std::chrono::milliseconds timeout;
    // A group id of its own that never joins (assign() only) and never commits.
    kafka::kafka_handle reader;
};

topic_scanner::topic_scanner(const config::config& cfg, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>(
          impl{cfg, timeout, make_reader(cfg, "spillway-ctl-" + core::new_request_id())})) {}

topic_scanner::~topic_scanner() {
    rd_kafka_consumer_close(impl_->reader.get());
}

std::vector<partition_extent> topic_scanner::extents(const std::string& topic) {
    rd_kafka_t* rk = impl_->reader.get();
    kafka::topic_handle t(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
    const rd_kafka_metadata_t* raw = nullptr;
    const auto err =
        rd_kafka_metadata(rk, 0, t.get(), &raw, static_cast<int>(impl_->timeout.count()));
    kafka::metadata_handle md(raw);
    if (err) {
        throw kafka_unavailable("metadata of " + topic + ": " + kafka::error_string(err));
    }
    if (md->topic_cnt != 1 || md->topics[0].err) {
        throw kafka_unavailable("topic " + topic + ": " +
                                kafka::error_string(md->topic_cnt
                                                        ? md->topics[0].err
                                                        : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
    }
    std::vector<partition_extent> out;
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
        partition_extent e{md->topics[0].partitions[i].id};
        const auto werr =
            rd_kafka_query_watermark_offsets(rk, topic.c_str(), e.partition, &e.low, &e.high,
                                             static_cast<int>(impl_->timeout.count()));
        if (werr) {
            throw kafka_unavailable("offsets of " + topic + " [" + std::to_string(e.partition) +
                                    "]: " + kafka::error_string(werr));
        }
        out.push_back(e);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.partition < b.partition; });
    return out;
}

std::vector<partition_extent> topic_scanner::scan(
    const std::string& topic, const std::function<void(const scanned_record&)>& visit) {
    rd_kafka_t* rk = impl_->reader.get();
    const auto parts = extents(topic);
    for (const auto& part : parts) {
        if (part.high <= part.low) {
            continue;
        }
        // One partition at a time: records come in offset order, and the reader holds one
        // partition's prefetch, not all of them.
        kafka::partition_list_handle list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), part.partition)->offset =
            part.low;
        if (auto err = rd_kafka_assign(rk, list.get()); err) {
            throw kafka_unavailable("assign " + topic + ": " + kafka::error_string(err));
        }
        std::int64_t next = part.low;
        auto last_progress = clock::now();
        while (next < part.high) {
            kafka::message_handle msg(rd_kafka_consumer_poll(rk, 200));
            if (!msg) {
                if (clock::now() - last_progress > impl_->timeout) {
                    throw kafka_unavailable("reading " + topic + " [" +
                                            std::to_string(part.partition) +
                                            "] stalled at offset " + std::to_string(next));
                }
                continue;
            }
            last_progress = clock::now();
            if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                break;  // the end, below `high` only when records were deleted meanwhile
            }
            if (msg->err) {
                throw kafka_unavailable("reading " + topic + ": " +
                                        std::string(rd_kafka_message_errstr(msg.get())));
            }
            if (msg->offset >= part.high) {
                break;  // appended after the scan began
            }
            scanned_record r;
            r.partition = msg->partition;
            r.offset = msg->offset;
            if (msg->key != nullptr) {
                r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
            }
            if (msg->payload != nullptr) {
                r.value.assign(static_cast<const char*>(msg->payload), msg->len);
            }
            rd_kafka_headers_t* headers = nullptr;
            if (rd_kafka_message_headers(msg.get(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const char* name = nullptr;
                const void* value = nullptr;
                std::size_t size = 0;
                for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                                        RD_KAFKA_RESP_ERR_NO_ERROR;
                     ++i) {
                    r.headers.emplace_back(
                        name,
                        value ? std::string(static_cast<const char*>(value), size) : std::string());
                }
            }
            next = msg->offset + 1;
            visit(r);
        }
        rd_kafka_assign(rk, nullptr);
    }
    return parts;
}

std::map<std::int32_t, std::int64_t> topic_scanner::committed(
    const std::string& group, const std::string& topic,
    const std::vector<partition_extent>& extents) {
    // OffsetFetch under the replay's group id, from a client that never subscribes: it reads the
    // group's offsets without joining it, so the replay's assignment is not disturbed.
    auto rk = make_reader(impl_->cfg, group);
    kafka::partition_list_handle list(
        rd_kafka_topic_partition_list_new(static_cast<int>(extents.size())));
    for (const auto& e : extents) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), e.partition);
    }
    const auto err =
        rd_kafka_committed(rk.get(), list.get(), static_cast<int>(impl_->timeout.count()));
    rd_kafka_consumer_close(rk.get());
    if (err) {
        throw kafka_unavailable("committed offsets of group " + group + ": " +
                                kafka::error_string(err));
    }
    std::map<std::int32_t, std::int64_t> out;
    for (int i = 0; i < list->cnt; ++i) {
        if (list->elems[i].offset >= 0) {
            out[list->elems[i].partition] = list->elems[i].offset;
        }
    }
    return out;
}

}  // namespace spillway::ctl
