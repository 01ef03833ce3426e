#include "spillway/spool/spool.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/runtime/logging.hpp"
#include "spillway/spool/sqlite.hpp"

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
            case errc::full: return "spool full (spool.max_bytes reached)";
            case errc::closed: return "spool closed";
            case errc::storage: return "spool storage error";
        }
        return "unknown spool error";
    }
};

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    headers BLOB NOT NULL,
    bytes INTEGER NOT NULL
);
-- Records Kafka refused for good (too large for the topic, not authorised...): kept on disk for
-- the operator instead of blocking the records behind them or being dropped (README, "The spool").
CREATE TABLE IF NOT EXISTS quarantine (
    seq INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    headers BLOB NOT NULL,
    bytes INTEGER NOT NULL,
    reason TEXT NOT NULL,
    quarantined_at TEXT NOT NULL
);
PRAGMA user_version = 2;
)sql";

// Record headers on disk: for each pair, u32 little-endian length + bytes, name then value.
void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        out += static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

std::string encode_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
    std::string out;
    for (const auto& [name, value] : headers) {
        put_u32(out, static_cast<std::uint32_t>(name.size()));
        out += name;
        put_u32(out, static_cast<std::uint32_t>(value.size()));
        out += value;
    }
    return out;
}

bool decode_headers(std::string_view in, std::vector<std::pair<std::string, std::string>>& out) {
    auto take = [&in](std::string& field) {
        if (in.size() < 4) {
            return false;
        }
        std::uint32_t n = 0;
        for (int i = 0; i < 4; ++i) {
            n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
        }
        in.remove_prefix(4);
        if (in.size() < n) {
            return false;
        }
        field.assign(in.substr(0, n));
        in.remove_prefix(n);
        return true;
    };
    while (!in.empty()) {
        std::pair<std::string, std::string> h;
        if (!take(h.first) || !take(h.second)) {
            return false;
        }
        out.push_back(std::move(h));
    }
    return true;
}

void bind_bytes(sqlite3_stmt* s, int index, std::string_view bytes) {
    // SQLITE_STATIC: the bytes outlive the step; no copy of a large value.
    sqlite3_bind_blob64(s, index, bytes.data(), bytes.size(), SQLITE_STATIC);
}

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

namespace {

struct removal {
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t quarantined_records = 0;
    std::uint64_t quarantined_bytes = 0;
};

int insert_records(sqlite3_stmt* insert, const std::vector<append_op>& appends) {
    for (const auto& op : appends) {
        if (op.rejected) {
            continue;
        }
        const std::string headers = encode_headers(op.record.headers);
        sqlite::reset_guard guard(insert);
        bind_bytes(insert, 1, op.record.topic);
        bind_bytes(insert, 2, op.record.key);
        bind_bytes(insert, 3, op.record.value);
        bind_bytes(insert, 4, headers);
        sqlite3_bind_int64(insert, 5, static_cast<sqlite3_int64>(op.bytes));
        if (sqlite3_step(insert) != SQLITE_DONE) {
            return SQLITE_ERROR;
        }
    }
    return SQLITE_OK;
}

int delete_records(sqlite3_stmt* remove, sqlite3_stmt* quarantine,
                   const std::vector<remove_op>& removes, removal& done) {
    for (const auto& op : removes) {
        for (const std::int64_t seq : op.seqs) {
            bool quarantined = false;
            if (!op.quarantine_reason.empty()) {
                sqlite::reset_guard q(quarantine);
                const std::string at = core::format_rfc3339(std::chrono::system_clock::now());
                sqlite3_bind_text(quarantine, 1, op.quarantine_reason.data(),
                                  static_cast<int>(op.quarantine_reason.size()), SQLITE_STATIC);
                sqlite3_bind_text(quarantine, 2, at.data(), static_cast<int>(at.size()),
                                  SQLITE_TRANSIENT);
                sqlite3_bind_int64(quarantine, 3, seq);
                if (sqlite3_step(quarantine) != SQLITE_DONE) {
                    return SQLITE_ERROR;
                }
                quarantined = sqlite3_changes(sqlite3_db_handle(quarantine)) > 0;
            }
            sqlite::reset_guard guard(remove);
            sqlite3_bind_int64(remove, 1, seq);
            int step = sqlite3_step(remove);
            if (step == SQLITE_ROW) {
                // RETURNING gives the size to free; an unknown or already deleted seq gives no
                // row and frees nothing, so a repeated delete cannot skew the accounting.
                const auto bytes = static_cast<std::uint64_t>(sqlite3_column_int64(remove, 0));
                done.bytes += bytes;
                ++done.records;
                if (quarantined) {
                    done.quarantined_bytes += bytes;
                    ++done.quarantined_records;
                }
                step = sqlite3_step(remove);
            }
            if (step != SQLITE_DONE) {
                return SQLITE_ERROR;
            }
        }
    }
    return SQLITE_OK;
}

}  // namespace

struct spool::batch {
    std::vector<append_op> appends;
    std::vector<remove_op> removes;
};

struct spool::state {
    sqlite::db_ptr writer_db;
    sqlite::stmt_ptr insert;
    sqlite::stmt_ptr remove;
    sqlite::stmt_ptr quarantine;
    sqlite::db_ptr reader_db;  // its own connection: WAL lets the drainer read during commits
    sqlite::stmt_ptr select;
    std::mutex reader_mutex;

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
    state_ = std::make_unique<state>();
    auto& s = *state_;
    s.writer_db = sqlite::open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3* db = s.writer_db.get();
    sqlite3_busy_timeout(db, 5000);
    // WAL: a commit appends to the log and fsyncs it once; FULL: that fsync happens on every
    // commit, so a completed append survives power loss, not only a process crash.
    sqlite::exec_or_throw(db, "PRAGMA journal_mode=WAL");
    sqlite::exec_or_throw(db, "PRAGMA synchronous=FULL");
    sqlite::exec_or_throw(db, schema_sql);
    // Size accounting is recomputed from the records themselves, so it cannot drift.
    records_ = static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT count(*) FROM records"));
    bytes_ = static_cast<std::uint64_t>(
        sqlite::query_int(db, "SELECT coalesce(sum(bytes), 0) FROM records"));
    quarantined_records_ =
        static_cast<std::uint64_t>(sqlite::query_int(db, "SELECT count(*) FROM quarantine"));
    quarantined_bytes_ = static_cast<std::uint64_t>(
        sqlite::query_int(db, "SELECT coalesce(sum(bytes), 0) FROM quarantine"));
    s.insert = sqlite::prepare(
        db, "INSERT INTO records (topic, key, value, headers, bytes) VALUES (?, ?, ?, ?, ?)");
    s.remove = sqlite::prepare(db, "DELETE FROM records WHERE seq = ? RETURNING bytes");
    s.quarantine = sqlite::prepare(
        db, "INSERT OR IGNORE INTO quarantine "
            "SELECT seq, topic, key, value, headers, bytes, ?, ? FROM records WHERE seq = ?");
    s.reader_db = sqlite::open(path_, SQLITE_OPEN_READWRITE);
    sqlite3_busy_timeout(s.reader_db.get(), 5000);
    s.select = sqlite::prepare(s.reader_db.get(),
                               "SELECT seq, topic, key, value, headers, bytes FROM records "
                               "WHERE seq > ? ORDER BY seq LIMIT ?");
    runtime::logger("spool")->info("spool {}: {} records, {} bytes (max {})", path_,
                                   records_.load(), bytes_.load(), max_bytes_);
    if (quarantined_records_.load() > 0) {
        runtime::logger("spool")->error(
            "spool {}: {} records ({} bytes) in quarantine: Kafka refused them; see the README, "
            "\"The spool\"",
            path_, quarantined_records_.load(), quarantined_bytes_.load());
    }
    s.writer = std::thread([this] { writer_loop(); });
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
            // Committed bytes (quarantined ones are on disk too) plus what is already queued: a
            // burst cannot overshoot the bound.
            if (bytes_.load() + quarantined_bytes_.load() + s.pending_bytes + op.bytes >
                max_bytes_) {
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
            s.wake.wait(lock, [&] { return s.closing || !s.appends.empty() || !s.removes.empty(); });
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

void spool::commit(batch& b) noexcept {
    auto& s = *state_;
    sqlite3* db = s.writer_db.get();
    std::uint64_t added_bytes = 0;
    std::uint64_t added = 0;
    for (const auto& op : b.appends) {
        if (!op.rejected) {
            added_bytes += op.bytes;
            ++added;
        }
    }
    removal removed;
    int rc = sqlite::exec(db, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK) {
        rc = insert_records(s.insert.get(), b.appends);
    }
    if (rc == SQLITE_OK) {
        rc = delete_records(s.remove.get(), s.quarantine.get(), b.removes, removed);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite::exec(db, "COMMIT");
    }
    const bool ok = rc == SQLITE_OK;
    last_commit_ok_.store(ok, std::memory_order_relaxed);
    if (!ok) {
        runtime::logger("spool")->error("spool commit failed: {}", sqlite3_errmsg(db));
        sqlite::exec(db, "ROLLBACK");
    }
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
    auto& s = *state_;
    std::vector<stored_record> out;
    std::lock_guard lock(s.reader_mutex);
    if (!s.select) {
        return out;
    }
    sqlite3_stmt* q = s.select.get();
    sqlite::reset_guard guard(q);
    sqlite3_bind_int64(q, 1, after_seq);
    sqlite3_bind_int64(q, 2, static_cast<sqlite3_int64>(max_records));
    std::uint64_t total = 0;
    int rc = SQLITE_OK;
    while (total < max_bytes && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        stored_record r;
        r.seq = sqlite3_column_int64(q, 0);
        r.record.topic = sqlite::column_bytes(q, 1);
        r.record.key = sqlite::column_bytes(q, 2);
        r.record.value = sqlite::column_bytes(q, 3);
        r.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(q, 5));
        if (!decode_headers(sqlite::column_bytes(q, 4), r.record.headers)) {
            runtime::logger("spool")->error("spool record {}: corrupt headers, sent without", r.seq);
            r.record.headers.clear();
        }
        total += r.bytes;
        out.push_back(std::move(r));
    }
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        runtime::logger("spool")->error("spool read failed: {}", sqlite3_errmsg(s.reader_db.get()));
    }
    return out;
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
    std::lock_guard lock(s.reader_mutex);
    s.select.reset();
    s.insert.reset();
    s.remove.reset();
    s.quarantine.reset();
    s.reader_db.reset();
    s.writer_db.reset();
}

}  // namespace spillway::spool
