#include "spillway/spool/drainer.hpp"

#include "spillway/kafka/errors.hpp"
#include "spillway/runtime/logging.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace spillway::spool {

namespace {

struct report {
    std::int64_t seq = 0;
    std::uint64_t bytes = 0;
    boost::system::error_code error;  // kafka category; empty = delivered
    std::string id;  // the envelope's id (spillway-id header, else the key), for the logs
};

// The request id a spooled record carries, for the operator's logs.
std::string id_of(const kafka::record& r) {
    for (const auto& [name, value] : r.headers) {
        if (name == "spillway-id") {
            return value;
        }
    }
    return r.key;
}

// "id1, id2, ... (N more)": a log line names the first few of a large batch.
std::string some_ids(const std::unordered_map<std::int64_t, std::string>& ids,
                     const std::vector<std::int64_t>& seqs) {
    constexpr std::size_t shown = 10;
    std::string out;
    for (std::size_t i = 0; i < seqs.size() && i < shown; ++i) {
        const auto it = ids.find(seqs[i]);
        out += (i == 0 ? "" : ", ") +
               (it != ids.end() ? it->second : "seq " + std::to_string(seqs[i]));
    }
    if (seqs.size() > shown) {
        out += " (" + std::to_string(seqs.size() - shown) + " more)";
    }
    return out;
}

}  // namespace

// Shared with delivery callbacks and the spool's listener, which may outlive the drainer.
struct drainer::shared {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<report> reports;
    std::vector<std::int64_t> removed;  // deletions (and quarantines) the spool is done with
    std::vector<std::int64_t> delete_failed;  // delivered records whose deletion failed
    bool appended = false;  // the spool committed new records
    bool stopping = false;
    std::chrono::steady_clock::time_point stop_deadline;
};

struct drainer::loop_state {
    std::int64_t cursor = 0;  // the last seq handed to the producer in this round
    std::size_t in_flight = 0;
    std::uint64_t in_flight_bytes = 0;
    std::optional<std::int64_t> first_failure;  // the oldest seq not delivered in this round
    std::string failure_reason;
    // Delivered, deletion queued but not committed: a retry round must not send these again.
    std::unordered_set<std::int64_t> deleting;
    // Delivered records' ids until their deletion committed, for the log of a failed one.
    std::unordered_map<std::int64_t, std::string> delivered_ids;
    // Delivered, but the spool failed to delete them: deleted again after a backoff; never sent
    // again by this process (they stay in `deleting`).
    std::vector<std::int64_t> undeleted;
    std::chrono::steady_clock::time_point next_delete;
    std::chrono::milliseconds delete_backoff{0};
    std::chrono::milliseconds backoff{0};
};

namespace {

// Not kafka::async_produce: this thread has no event loop to post a completion to (it waits on
// a condition variable, with deadlines, for reports, appends and deletions alike), and a refusal
// must be seen at once, inside send_more, to stop the round in FIFO order instead of arriving
// later as one more report.
class report_callback final : public kafka::delivery_callback {
public:
    report_callback(std::shared_ptr<drainer::shared> s, std::int64_t seq, std::uint64_t bytes,
                    std::string id)
        : shared_(std::move(s)), seq_(seq), bytes_(bytes), id_(std::move(id)) {}

    void on_delivery(const kafka::delivery_report& r) noexcept override {
        try {
            std::lock_guard lock(shared_->mutex);
            shared_->reports.push_back({seq_, bytes_, r.error, std::move(id_)});
            shared_->cv.notify_one();
        } catch (...) {
            // Out of memory: the record stays in the spool and is sent after a restart.
        }
    }

private:
    std::shared_ptr<drainer::shared> shared_;
    std::int64_t seq_;
    std::uint64_t bytes_;
    std::string id_;
};

}  // namespace

drainer::drainer(spool& s, kafka::producer& p, drainer_options options)
    : spool_(s), producer_(p), options_(options), shared_(std::make_shared<shared>()) {}

drainer::~drainer() {
    stop(std::chrono::milliseconds(0));
}

void drainer::start() {
    std::weak_ptr<shared> weak = shared_;
    spool_.set_on_appended([weak] {
        if (auto s = weak.lock()) {
            std::lock_guard lock(s->mutex);
            s->appended = true;
            s->cv.notify_one();
        }
    });
    thread_ = std::thread([this] { run(); });
}

void drainer::stop(std::chrono::milliseconds timeout) noexcept {
    {
        std::lock_guard lock(shared_->mutex);
        if (!shared_->stopping) {
            shared_->stopping = true;
            shared_->stop_deadline = std::chrono::steady_clock::now() + timeout;
        }
        shared_->cv.notify_one();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

void drainer::run() noexcept {
    loop_state st;
    st.backoff = options_.backoff_initial;
    bool idle = false;
    for (;;) {
        {
            std::unique_lock lock(shared_->mutex);
            auto ready = [&] {
                return shared_->stopping || !shared_->reports.empty() ||
                       !shared_->removed.empty() || !shared_->delete_failed.empty() ||
                       (idle && shared_->appended);
            };
            const bool full = st.in_flight >= options_.max_in_flight_records ||
                              st.in_flight_bytes >= options_.max_in_flight_bytes;
            // Waiting for a report only makes sense while something is in flight.
            const bool blocked = st.in_flight > 0 && (st.first_failure.has_value() || full);
            if (idle || blocked) {
                shared_->cv.wait_for(lock, wait_time(st), ready);
            }
            if (shared_->stopping) {
                break;
            }
            shared_->appended = false;
        }
        handle_reports(st);
        retry_deletes(st);
        if (st.first_failure && st.in_flight == 0) {
            // The round is over: everything before the failure was delivered. Back off, then
            // start again from the oldest record that was not.
            runtime::logger("spool")->warn("spool drain: delivery failed ({}); retrying in {} ms",
                                           st.failure_reason, st.backoff.count());
            st.cursor = *st.first_failure - 1;
            st.first_failure.reset();
            std::unique_lock lock(shared_->mutex);
            shared_->cv.wait_for(lock, st.backoff, [&] { return shared_->stopping; });
            st.backoff = std::min(st.backoff * 2, options_.backoff_max);
            idle = false;
            continue;
        }
        idle = st.first_failure ? false : !send_more(st);
    }
    finish(st);
}

void drainer::handle_reports(loop_state& st) {
    std::vector<report> reports;
    std::vector<std::int64_t> removed;
    std::vector<std::int64_t> delete_failed;
    {
        std::lock_guard lock(shared_->mutex);
        reports.swap(shared_->reports);
        removed.swap(shared_->removed);
        delete_failed.swap(shared_->delete_failed);
    }
    for (const std::int64_t seq : removed) {
        st.deleting.erase(seq);
        st.delivered_ids.erase(seq);
    }
    if (!removed.empty() && st.undeleted.empty()) {
        st.delete_backoff = options_.backoff_initial;
    }
    if (!delete_failed.empty()) {
        on_delete_failed(st, std::move(delete_failed));
    }
    std::vector<std::int64_t> delivered;
    for (auto& r : reports) {
        --st.in_flight;
        st.in_flight_bytes -= r.bytes;
        if (!r.error) {
            delivered.push_back(r.seq);
            st.deleting.insert(r.seq);
            st.delivered_ids.emplace(r.seq, std::move(r.id));
            st.backoff = options_.backoff_initial;
        } else if (kafka::is_permanent_error(r.error)) {
            quarantine(st, r.seq, r.error.message());
        } else {
            ++failed_;
            if (!st.first_failure || r.seq < *st.first_failure) {
                st.first_failure = r.seq;
                st.failure_reason = r.error.message();
            }
        }
    }
    if (delivered.empty()) {
        return;
    }
    delivered_ += delivered.size();
    queue_delete(std::move(delivered));
}

// Deletes delivered records; the spool's answer comes back through `shared` either way.
void drainer::queue_delete(std::vector<std::int64_t> seqs) {
    std::weak_ptr<shared> weak = shared_;
    auto copy = seqs;
    spool_.remove(std::move(seqs), [weak, seqs = std::move(copy)](bool ok) {
        if (auto s = weak.lock()) {
            std::lock_guard lock(s->mutex);
            auto& to = ok ? s->removed : s->delete_failed;
            to.insert(to.end(), seqs.begin(), seqs.end());
            s->cv.notify_one();
        }
    });
}

// A delivered record the spool could not delete would be sent again after a restart (at least
// once still holds, the id makes it harmless, but nobody would know): it is counted, logged with
// its id, shown in /ready, never sent again by this process, and deleted again after a backoff.
void drainer::on_delete_failed(loop_state& st, std::vector<std::int64_t> seqs) {
    delete_failures_ += seqs.size();
    if (st.delete_backoff.count() == 0) {
        st.delete_backoff = options_.backoff_initial;
    }
    runtime::logger("spool")->error(
        "spool: {} delivered record(s) could not be deleted (they would be sent to Kafka again "
        "after a restart); retrying in {} ms: {}",
        seqs.size(), st.delete_backoff.count(), some_ids(st.delivered_ids, seqs));
    st.undeleted.insert(st.undeleted.end(), seqs.begin(), seqs.end());
    undeleted_ = st.undeleted.size();
    st.next_delete = std::chrono::steady_clock::now() + st.delete_backoff;
    st.delete_backoff = std::min(st.delete_backoff * 2, options_.backoff_max);
}

// The rescan interval, or less when a failed deletion is due for its retry sooner.
std::chrono::milliseconds drainer::wait_time(const loop_state& st) const {
    if (st.undeleted.empty()) {
        return options_.rescan_interval;
    }
    const auto due = std::chrono::duration_cast<std::chrono::milliseconds>(
        st.next_delete - std::chrono::steady_clock::now());
    return std::clamp(due, std::chrono::milliseconds(0), options_.rescan_interval);
}

void drainer::retry_deletes(loop_state& st) {
    if (st.undeleted.empty() || std::chrono::steady_clock::now() < st.next_delete) {
        return;
    }
    std::vector<std::int64_t> seqs;
    seqs.swap(st.undeleted);
    undeleted_ = 0;
    queue_delete(std::move(seqs));
}

// Hands the next oldest records to the producer, within the in-flight bounds. Returns whether
// there may be more to do right away (false: the spool had nothing beyond the cursor).
bool drainer::send_more(loop_state& st) {
    if (st.in_flight >= options_.max_in_flight_records ||
        st.in_flight_bytes >= options_.max_in_flight_bytes) {
        return true;
    }
    auto batch = spool_.read_after(st.cursor, options_.max_in_flight_records - st.in_flight,
                                   options_.max_in_flight_bytes - st.in_flight_bytes);
    if (batch.empty()) {
        return false;
    }
    for (auto& rec : batch) {
        if (st.deleting.count(rec.seq) != 0) {
            st.cursor = rec.seq;
            continue;
        }
        auto callback =
            std::make_unique<report_callback>(shared_, rec.seq, rec.bytes, id_of(rec.record));
        const auto ec = producer_.produce(rec.record, std::move(callback));
        if (kafka::is_permanent_error(ec)) {
            // Refused for good (e.g. larger than message.max.bytes): set aside, go on.
            quarantine(st, rec.seq, ec.message());
            st.cursor = rec.seq;
            continue;
        }
        if (ec) {
            // Refused at once (queue full, producer closing): keep the order, retry from here.
            ++failed_;
            st.first_failure = rec.seq;
            st.failure_reason = "produce refused: " + ec.message();
            return true;
        }
        ++produced_;
        ++st.in_flight;
        st.in_flight_bytes += rec.bytes;
        st.cursor = rec.seq;
        if (st.in_flight > max_in_flight_seen_.load()) {
            max_in_flight_seen_ = st.in_flight;
        }
    }
    return true;
}

// A record Kafka refuses for good would otherwise be retried forever and hold back every record
// spooled after it: it goes to the spool's quarantine table (on disk, for the operator) and the
// drain goes on. Until that commits it counts as being deleted, so a retry round skips it.
void drainer::quarantine(loop_state& st, std::int64_t seq, const std::string& reason) {
    runtime::logger("spool")->error(
        "spool record {}: kafka refuses it for good ({}); moved to the quarantine table, the "
        "drain goes on",
        seq, reason);
    ++quarantined_;
    st.deleting.insert(seq);
    std::weak_ptr<shared> weak = shared_;
    spool_.quarantine(seq, reason, [weak, seq](bool) {
        if (auto s = weak.lock()) {
            std::lock_guard lock(s->mutex);
            s->removed.push_back(seq);
            s->cv.notify_one();
        }
    });
}

// Stopping: wait (bounded) for what is in flight, so delivered records are deleted now rather
// than sent again after the restart.
void drainer::finish(loop_state& st) {
    for (;;) {
        handle_reports(st);
        if (st.in_flight == 0) {
            break;
        }
        std::unique_lock lock(shared_->mutex);
        if (!shared_->cv.wait_until(lock, shared_->stop_deadline,
                                    [&] { return !shared_->reports.empty(); })) {
            runtime::logger("spool")->warn(
                "spool drain: stopped with {} records unreported; they stay spooled", st.in_flight);
            break;
        }
    }
    if (!st.undeleted.empty()) {
        runtime::logger("spool")->error(
            "spool drain: stopped with {} delivered record(s) not deleted; they will be sent to "
            "Kafka again after the restart: {}",
            st.undeleted.size(), some_ids(st.delivered_ids, st.undeleted));
    }
}

}  // namespace spillway::spool
