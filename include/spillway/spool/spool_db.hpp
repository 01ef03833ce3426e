#pragma once
// The spool's SQLite file (`spool.dir`/spool.db): its schema, its statements and the on-disk form
// of a record. No thread and no queue of its own: the spool's writer thread drives the writer
// connection, one transaction at a time; the drainer reads through a second connection, which
// WAL lets read while a transaction commits. Included by spool.cpp and spool_db.cpp only.

#include "spillway/spool/spool.hpp"
#include "spillway/spool/sqlite.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace spillway::spool {

// What the tables hold, or what a transaction freed.
struct spool_totals {
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t quarantined_records = 0;
    std::uint64_t quarantined_bytes = 0;
};

class spool_db {
public:
    // Opens (or creates) the file in WAL mode with synchronous=FULL and its schema. Startup only:
    // throws std::runtime_error naming the file.
    explicit spool_db(const std::string& path);

    // Counted from the tables themselves, so the spool's size accounting cannot drift.
    spool_totals totals();

    // The writer connection. Each returns false when SQLite failed (last_error() says why);
    // the caller then rolls the transaction back.
    bool begin() noexcept;
    bool insert(const kafka::record& r, std::uint64_t bytes) noexcept;
    // Deletes record `seq`, copying it to the quarantine table first when `quarantine_reason` is
    // not empty, and adds what that freed to `freed`. An unknown or already deleted seq frees
    // nothing, so a repeated delete cannot skew the accounting.
    bool remove(std::int64_t seq, std::string_view quarantine_reason, spool_totals& freed) noexcept;
    bool commit() noexcept;
    void rollback() noexcept;
    const char* last_error() const noexcept;

    // After a commit that deleted records: gives free pages back to the file system once there
    // are reclaim_free_pages of them, or all of them and the whole log when the spool is `empty`,
    // so a spool that filled and drained returns to a small size. Outside any transaction.
    bool reclaim(bool empty) noexcept;
    static constexpr std::int64_t reclaim_free_pages = 256;  // 1 MiB of 4 KiB pages

    // What the files take on disk now: spool.db and its write-ahead log.
    std::uint64_t disk_bytes() const noexcept;

    // The reader connection (any thread): spool::read_after.
    std::vector<stored_record> read_after(std::int64_t after_seq, std::size_t max_records,
                                          std::uint64_t max_bytes);

    // Finalizes the statements and closes both connections; read_after then returns nothing.
    // Call once the writer connection is no longer used.
    void close() noexcept;

private:
    bool move_to_quarantine(std::int64_t seq, std::string_view reason, bool& moved) noexcept;

    std::string path_;
    sqlite::db_ptr writer_db_;
    sqlite::stmt_ptr insert_;
    sqlite::stmt_ptr remove_;
    sqlite::stmt_ptr quarantine_;
    sqlite::db_ptr reader_db_;
    sqlite::stmt_ptr select_;
    std::mutex reader_mutex_;
};

}  // namespace spillway::spool
