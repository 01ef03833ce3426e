#include "spillway/spool/spool_db.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/runtime/logging.hpp"

#include <chrono>
#include <filesystem>

namespace spillway::spool {

namespace {

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

std::uint64_t count(sqlite3* db, const char* sql) {
    return static_cast<std::uint64_t>(sqlite::query_int(db, sql));
}

}  // namespace

spool_db::spool_db(const std::string& path) : path_(path) {
    writer_db_ = sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3* db = writer_db_.get();
    sqlite3_busy_timeout(db, 5000);
    // INCREMENTAL: pages freed by the drain can be given back to the file system (reclaim()).
    // It only takes effect on a file without tables; an older spool is rebuilt once (VACUUM).
    sqlite::exec_or_throw(db, "PRAGMA auto_vacuum=INCREMENTAL");
    // WAL: a commit appends to the log and fsyncs it once; FULL: that fsync happens on every
    // commit, so a completed append survives power loss, not only a process crash.
    sqlite::exec_or_throw(db, "PRAGMA journal_mode=WAL");
    sqlite::exec_or_throw(db, "PRAGMA synchronous=FULL");
    // SQLite checkpoints the log every 1000 pages (its automatic checkpoint); this cuts the file
    // back to 4 MiB after each one, so it does not keep the size of its largest burst.
    sqlite::exec_or_throw(db, "PRAGMA journal_size_limit=4194304");
    sqlite::exec_or_throw(db, schema_sql);
    if (sqlite::query_int(db, "PRAGMA auto_vacuum") != 2) {
        runtime::logger("spool")->info("spool {}: rebuilding once for incremental vacuum", path);
        sqlite::exec_or_throw(db, "VACUUM");
    }
    insert_ = sqlite::prepare(
        db, "INSERT INTO records (topic, key, value, headers, bytes) VALUES (?, ?, ?, ?, ?)");
    remove_ = sqlite::prepare(db, "DELETE FROM records WHERE seq = ? RETURNING bytes");
    quarantine_ = sqlite::prepare(
        db,
        "INSERT OR IGNORE INTO quarantine "
        "SELECT seq, topic, key, value, headers, bytes, ?, ? FROM records WHERE seq = ?");
    reader_db_ = sqlite::open(path, SQLITE_OPEN_READWRITE);
    sqlite3_busy_timeout(reader_db_.get(), 5000);
    select_ = sqlite::prepare(reader_db_.get(),
                              "SELECT seq, topic, key, value, headers, bytes FROM records "
                              "WHERE seq > ? ORDER BY seq LIMIT ?");
}

spool_totals spool_db::totals() {
    sqlite3* db = writer_db_.get();
    spool_totals t;
    t.records = count(db, "SELECT count(*) FROM records");
    t.bytes = count(db, "SELECT coalesce(sum(bytes), 0) FROM records");
    t.quarantined_records = count(db, "SELECT count(*) FROM quarantine");
    t.quarantined_bytes = count(db, "SELECT coalesce(sum(bytes), 0) FROM quarantine");
    return t;
}

bool spool_db::begin() noexcept {
    return sqlite::exec(writer_db_.get(), "BEGIN IMMEDIATE") == SQLITE_OK;
}

bool spool_db::commit() noexcept {
    return sqlite::exec(writer_db_.get(), "COMMIT") == SQLITE_OK;
}

void spool_db::rollback() noexcept {
    sqlite::exec(writer_db_.get(), "ROLLBACK");
}

const char* spool_db::last_error() const noexcept {
    return sqlite3_errmsg(writer_db_.get());
}

bool spool_db::insert(const kafka::record& r, std::uint64_t bytes) noexcept {
    const std::string headers = encode_headers(r.headers);
    sqlite3_stmt* s = insert_.get();
    sqlite::reset_guard guard(s);
    bind_bytes(s, 1, r.topic);
    bind_bytes(s, 2, r.key);
    bind_bytes(s, 3, r.value);
    bind_bytes(s, 4, headers);
    sqlite3_bind_int64(s, 5, static_cast<sqlite3_int64>(bytes));
    return sqlite3_step(s) == SQLITE_DONE;
}

bool spool_db::move_to_quarantine(std::int64_t seq, std::string_view reason, bool& moved) noexcept {
    sqlite3_stmt* s = quarantine_.get();
    sqlite::reset_guard guard(s);
    const std::string at = core::format_rfc3339(std::chrono::system_clock::now());
    sqlite3_bind_text(s, 1, reason.data(), static_cast<int>(reason.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, at.data(), static_cast<int>(at.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, seq);
    if (sqlite3_step(s) != SQLITE_DONE) {
        return false;
    }
    moved = sqlite3_changes(writer_db_.get()) > 0;
    return true;
}

bool spool_db::remove(std::int64_t seq, std::string_view quarantine_reason,
                      spool_totals& freed) noexcept {
    bool quarantined = false;
    if (!quarantine_reason.empty() && !move_to_quarantine(seq, quarantine_reason, quarantined)) {
        return false;
    }
    sqlite3_stmt* s = remove_.get();
    sqlite::reset_guard guard(s);
    sqlite3_bind_int64(s, 1, seq);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        // RETURNING gives the size to free; no row, nothing to free.
        const auto bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        freed.bytes += bytes;
        ++freed.records;
        if (quarantined) {
            freed.quarantined_bytes += bytes;
            ++freed.quarantined_records;
        }
        step = sqlite3_step(s);
    }
    return step == SQLITE_DONE;
}

std::uint64_t spool_db::disk_bytes() const noexcept {
    std::uint64_t total = 0;
    for (const auto* suffix : {"", "-wal"}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path_ + suffix, ec);
        total += ec ? 0 : size;
    }
    return total;
}

bool spool_db::reclaim(bool empty) noexcept {
    sqlite3* db = writer_db_.get();
    std::int64_t free_pages = 0;
    {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db, "PRAGMA freelist_count", -1, &raw, nullptr) != SQLITE_OK) {
            return false;
        }
        sqlite::stmt_ptr s(raw);
        if (sqlite3_step(s.get()) == SQLITE_ROW) {
            free_pages = sqlite3_column_int64(s.get(), 0);
        }
    }
    if (!empty && free_pages < reclaim_free_pages) {
        return true;
    }
    bool ok = free_pages == 0 || sqlite::exec(db, "PRAGMA incremental_vacuum") == SQLITE_OK;
    if (empty) {
        // Nothing left to drain: the log goes back to zero bytes. A reader in the middle of a
        // read makes it fail (busy), and the next empty spool tries again.
        ok = sqlite::exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK && ok;
    }
    return ok;
}

std::vector<stored_record> spool_db::read_after(std::int64_t after_seq, std::size_t max_records,
                                                std::uint64_t max_bytes) {
    std::vector<stored_record> out;
    std::lock_guard lock(reader_mutex_);
    if (!select_) {
        return out;
    }
    sqlite3_stmt* q = select_.get();
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
            runtime::logger("spool")->error("spool record {}: corrupt headers, sent without",
                                            r.seq);
            r.record.headers.clear();
        }
        total += r.bytes;
        out.push_back(std::move(r));
    }
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        runtime::logger("spool")->error("spool read failed: {}", sqlite3_errmsg(reader_db_.get()));
    }
    return out;
}

void spool_db::close() noexcept {
    std::lock_guard lock(reader_mutex_);
    select_.reset();
    insert_.reset();
    remove_.reset();
    quarantine_.reset();
    reader_db_.reset();
    writer_db_.reset();
}

}  // namespace spillway::spool
