#include "spillway/spool/spool.hpp"

#include "spillway/runtime/logging.hpp"
#include "spillway/spool/spool_db.hpp"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace spillway::spool {

namespace {

// One transaction takes at most this many operations, so a flood of appends still yields
// regular commits (and completions) instead of one ever-growing transaction.
constexpr std::size_t max_batch_ops = 4096;

class spool_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "spillway.spool"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::full:
                return "spool full (spool.max_bytes reached)";
            case errc::closed:
                return "spool closed";
            case errc::storage:
                return "spool storage error";
        }
        return "unknown spool error";
    }
};

}  // namespace

const boost::system::error_category& spool_category() noexcept {
    static const spool_category_impl category;
    return category;
}

std::uint64_t record_bytes(const kafka::record& r) noexcept {
    std::uint64_t n = r.topic.size() + r.key.size() + r.value.size();
    for (const auto& [name, value] : r.headers) {
        n += name.size() + value.size();
    }
    return n;
}

struct append_op {
    kafka::record record;
    std::unique_ptr<append_callback> callback;
    std::uint64_t bytes = 0;
    boost::system::error_code rejected;  // set when refused before reaching SQLite
};

struct remove_op {
    std::vector<std::int64_t> seqs;
    std::function<void(bool)> done;
    std::string quarantine_reason;  // set: moved to the quarantine table, not only deleted
};

struct spool::batch {
    std::vector<append_op> appends;
    std::vector<remove_op> removes;
};

struct spool::state {
    explicit state(const std::string& path) : db(path) {}

    spool_db db;  // its writer connection: the writer thread's alone once started

    std::mutex mutex;
    std::condition_variable wake;
    std::deque<append_op> appends;
    std::deque<remove_op> removes;
    std::uint64_t pending_bytes = 0;  // queued appends, not yet committed
    bool closing = false;
    std::function<void()> on_appended;
    std::thread writer;
};

spool::spool(const config::spool_config& cfg) : max_bytes_(cfg.max_bytes) {
    std::filesystem::create_directories(cfg.dir);
    path_ = (std::filesystem::path(cfg.dir) / "spool.db").string();
    state_ = std::make_unique<state>(path_);
    const spool_totals found = state_->db.totals();
    disk_bytes_ = state_->db.disk_bytes();
    records_ = found.records;
    bytes_ = found.bytes;
    quarantined_records_ = found.quarantined_records;
    quarantined_bytes_ = found.quarantined_bytes;
    const auto log = runtime::logger("spool");
    log->info("spool {}: {} records, {} bytes, {} bytes on disk (max {})", path_, found.records,
              found.bytes, disk_bytes_.load(), max_bytes_);
    if (found.quarantined_records > 0) {
        log->error(
            "spool {}: {} records ({} bytes) in quarantine: Kafka refused them; see the "
            "README, \"The spool\"",
            path_, found.quarantined_records, found.quarantined_bytes);
    }
    state_->writer = std::thread([this] { writer_loop(); });
}

spool::~spool() {
    close();
}

void spool::append(kafka::record&& r, std::unique_ptr<append_callback> callback) noexcept {
    append_op op{std::move(r), std::move(callback), 0, {}};
    op.bytes = record_bytes(op.record);
    auto& s = *state_;
    {
        std::lock_guard lock(s.mutex);
        if (!s.closing) {
            // What is on disk (quarantined records too) plus what is already queued: a burst
            // cannot overshoot the bound.
            if (used_bytes() + s.pending_bytes + op.bytes > max_bytes_) {
                op.rejected = errc::full;
                ++rejected_full_;
            } else {
                s.pending_bytes += op.bytes;
            }
            s.appends.push_back(std::move(op));
            s.wake.notify_one();
            return;
        }
    }
    if (op.callback) {
        op.callback->on_appended(errc::closed);
    }
}

void spool::remove(std::vector<std::int64_t> seqs, std::function<void(bool)> done) {
    queue_removal({std::move(seqs), std::move(done), {}});
}

void spool::quarantine(std::int64_t seq, std::string reason, std::function<void(bool)> done) {
    if (reason.empty()) {
        reason = "refused by kafka";
    }
    queue_removal({{seq}, std::move(done), std::move(reason)});
}

void spool::queue_removal(remove_op&& op) {
    auto& s = *state_;
    {
        std::lock_guard lock(s.mutex);
        if (!s.closing) {
            s.removes.push_back(std::move(op));
            s.wake.notify_one();
            return;
        }
    }
    if (op.done) {
        op.done(false);
    }
}

void spool::set_on_appended(std::function<void()> listener) {
    std::lock_guard lock(state_->mutex);
    state_->on_appended = std::move(listener);
}

void spool::writer_loop() noexcept {
    auto& s = *state_;
    for (;;) {
        batch b;
        {
            std::unique_lock lock(s.mutex);
            s.wake.wait(lock,
                        [&] { return s.closing || !s.appends.empty() || !s.removes.empty(); });
            if (s.appends.empty() && s.removes.empty()) {
                return;  // closing, and everything queued is committed
            }
            // Everything waiting goes into one transaction: this is the group commit.
            while (!s.appends.empty() && b.appends.size() < max_batch_ops) {
                b.appends.push_back(std::move(s.appends.front()));
                s.appends.pop_front();
            }
            while (!s.removes.empty() && b.removes.size() < max_batch_ops) {
                b.removes.push_back(std::move(s.removes.front()));
                s.removes.pop_front();
            }
        }
        commit(b);
    }
}

// The batch's SQL, in one transaction; on success `freed` holds what its removals freed.
bool spool::write(const batch& b, spool_totals& freed) noexcept {
    spool_db& db = state_->db;
    bool ok = db.begin();
    for (auto op = b.appends.begin(); ok && op != b.appends.end(); ++op) {
        ok = op->rejected || db.insert(op->record, op->bytes);
    }
    for (auto op = b.removes.begin(); ok && op != b.removes.end(); ++op) {
        for (auto seq = op->seqs.begin(); ok && seq != op->seqs.end(); ++seq) {
            ok = db.remove(*seq, op->quarantine_reason, freed);
        }
    }
    ok = ok && db.commit();
    last_commit_ok_.store(ok, std::memory_order_relaxed);
    if (!ok) {
        ++commit_failures_;
        runtime::logger("spool")->error(
            "spool commit failed ({} appends and {} deletions not done): {}", b.appends.size(),
            b.removes.size(), db.last_error());
        db.rollback();
    }
    return ok;
}

void spool::commit(batch& b) noexcept {
    auto& s = *state_;
    std::uint64_t added_bytes = 0;
    std::uint64_t added = 0;
    for (const auto& op : b.appends) {
        if (!op.rejected) {
            added_bytes += op.bytes;
            ++added;
        }
    }
    spool_totals removed;
    const bool ok = write(b, removed);
    std::function<void()> listener;
    {
        std::lock_guard lock(s.mutex);
        s.pending_bytes -= added_bytes;
        if (ok) {
            // Under the queue lock, so append()'s bound check never sees the bytes twice or never.
            records_ += added;
            records_ -= removed.records;
            bytes_ += added_bytes;
            bytes_ -= removed.bytes;
            quarantined_records_ += removed.quarantined_records;
            quarantined_bytes_ += removed.quarantined_bytes;
            ++transactions_;
            appended_ += added;
        }
        listener = s.on_appended;
    }
    if (ok && removed.records > 0) {
        // Outside the lock and the transaction: appends queue meanwhile and go in the next one.
        state_->db.reclaim(records_.load() == 0);
    }
    disk_bytes_ = state_->db.disk_bytes();
    for (auto& op : b.appends) {
        if (op.callback) {
            op.callback->on_appended(op.rejected ? op.rejected
                                     : ok        ? boost::system::error_code{}
                                                 : make_error_code(errc::storage));
        }
    }
    for (auto& op : b.removes) {
        if (op.done) {
            op.done(ok);
        }
    }
    if (ok && added > 0 && listener) {
        listener();
    }
}

std::vector<stored_record> spool::read_after(std::int64_t after_seq, std::size_t max_records,
                                             std::uint64_t max_bytes) {
    return state_->db.read_after(after_seq, max_records, max_bytes);
}

void spool::close() noexcept {
    if (!state_) {
        return;
    }
    auto& s = *state_;
    {
        std::lock_guard lock(s.mutex);
        s.closing = true;
        s.wake.notify_one();
    }
    if (s.writer.joinable()) {
        s.writer.join();
    }
    s.db.close();
}

}  // namespace spillway::spool
