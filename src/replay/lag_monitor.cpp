#include "spillway/replay/lag_monitor.hpp"

#include "spillway/runtime/logging.hpp"

#include <algorithm>

namespace spillway::replay {

std::optional<std::int64_t> lag_of(std::int64_t end_offset, std::int64_t committed,
                                   std::int64_t earliest) {
    if (end_offset < 0) {
        return std::nullopt;
    }
    const std::int64_t from = committed >= 0 ? committed : earliest;
    if (from < 0) {
        return std::nullopt;
    }
    return std::max<std::int64_t>(0, end_offset - from);
}

std::optional<std::string> replay_readiness(bool checked, const kafka_check& last) {
    if (!checked) {
        return "kafka not checked yet";
    }
    if (last.unreachable) {
        return "kafka unreachable: " + *last.unreachable;
    }
    if (last.coordinator) {
        return "group coordinator not answering: " + *last.coordinator;
    }
    if (!last.group_member) {
        return "not a member of the consumer group yet (joining)";
    }
    return std::nullopt;
}

lag_monitor::lag_monitor(rd_kafka_t* rk, std::string topic, std::chrono::milliseconds interval,
                         std::chrono::milliseconds timeout)
    : rk_(rk), topic_(std::move(topic)), interval_(interval), timeout_(timeout) {}

lag_monitor::~lag_monitor() {
    stop();
}

void lag_monitor::start() {
    thread_ = std::thread([this] { loop(); });
}

void lag_monitor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::vector<partition_lag> lag_monitor::lags() const {
    std::lock_guard lock(mutex_);
    return lags_;
}

std::optional<std::string> lag_monitor::readiness() const {
    std::lock_guard lock(mutex_);
    return replay_readiness(checked_, last_);
}

void lag_monitor::loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        check();
        lock.lock();
        wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
}

void lag_monitor::check() {
    kafka_check found;
    std::vector<partition_lag> lags;
    const rd_kafka_metadata_t* md = nullptr;
    const int timeout_ms = static_cast<int>(timeout_.count());
    if (auto err = rd_kafka_metadata(rk_, 0, nullptr, &md, timeout_ms); err) {
        found.unreachable = kafka::error_string(err);
    } else {
        kafka::metadata_handle owned(md);
        char* member = rd_kafka_memberid(rk_);
        found.group_member = member != nullptr && *member != '\0';
        if (member != nullptr) {
            rd_kafka_mem_free(rk_, member);
        }
        rd_kafka_topic_partition_list_t* assigned = nullptr;
        if (rd_kafka_assignment(rk_, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            kafka::partition_list_handle owned_assigned(assigned);
            lags = measure(assigned, found);
        }
    }
    std::lock_guard lock(mutex_);
    if (found.unreachable && last_.unreachable != found.unreachable) {
        runtime::logger("replay")->warn("not ready: kafka unreachable ({})", *found.unreachable);
    }
    checked_ = true;
    last_ = std::move(found);
    lags_ = std::move(lags);
}

std::vector<partition_lag> lag_monitor::measure(rd_kafka_topic_partition_list_t* assigned,
                                                kafka_check& found) {
    std::vector<partition_lag> out;
    kafka::partition_list_handle committed(rd_kafka_topic_partition_list_new(assigned->cnt));
    for (int i = 0; i < assigned->cnt; ++i) {
        if (topic_ == assigned->elems[i].topic) {
            rd_kafka_topic_partition_list_add(committed.get(), topic_.c_str(),
                                              assigned->elems[i].partition);
        }
    }
    if (committed->cnt == 0) {
        return out;  // a member without partitions (more consumers than partitions): no lag
    }
    const int timeout_ms = static_cast<int>(timeout_.count());
    if (auto err = rd_kafka_committed(rk_, committed.get(), timeout_ms); err) {
        found.coordinator = kafka::error_string(err);
        return out;
    }
    // ListOffsets with the special timestamps -1 (latest: the high watermark) and -2 (earliest).
    kafka::partition_list_handle ends(rd_kafka_topic_partition_list_copy(committed.get()));
    kafka::partition_list_handle earliest(rd_kafka_topic_partition_list_copy(committed.get()));
    for (int i = 0; i < ends->cnt; ++i) {
        ends->elems[i].offset = RD_KAFKA_OFFSET_END;
        earliest->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (auto err = rd_kafka_offsets_for_times(rk_, ends.get(), timeout_ms); err) {
        runtime::logger("replay")->debug("lag: end offsets: {}", kafka::error_string(err));
        return out;
    }
    const bool any_uncommitted =
        std::any_of(committed->elems, committed->elems + committed->cnt,
                    [](const rd_kafka_topic_partition_t& p) { return p.offset < 0; });
    if (any_uncommitted && rd_kafka_offsets_for_times(rk_, earliest.get(), timeout_ms) != 0) {
        return out;
    }
    for (int i = 0; i < committed->cnt; ++i) {
        const auto& c = committed->elems[i];
        const auto& e = ends->elems[i];
        const std::int64_t first =
            any_uncommitted && earliest->elems[i].err == 0 ? earliest->elems[i].offset : -1;
        const auto lag = lag_of(e.err == 0 ? e.offset : -1, c.err == 0 ? c.offset : -1, first);
        if (lag) {
            out.push_back({c.partition, e.offset, c.offset >= 0 ? c.offset : -1, *lag});
        }
    }
    return out;
}

}  // namespace spillway::replay
