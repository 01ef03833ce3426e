#pragma once
// Thin RAII over the SQLite C API, just what the spool needs: a handle per connection and per
// prepared statement, and a guard that resets a statement for its next use.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <sqlite3.h>

namespace spillway::spool::sqlite {

struct db_closer {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};

using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

// Startup only: these throw std::runtime_error with SQLite's message and the file or statement.
db_ptr open(const std::string& path, int flags);
void exec_or_throw(sqlite3* db, const char* sql);
stmt_ptr prepare(sqlite3* db, const char* sql);

// The data path: SQLite's result code, no exceptions.
int exec(sqlite3* db, const char* sql) noexcept;

// The first column of the first row of `sql` as an integer (PRAGMAs, counts); startup only.
std::int64_t query_int(sqlite3* db, const char* sql);

// Resets and unbinds a cached statement when the scope ends, whatever path left it.
class reset_guard {
public:
    explicit reset_guard(sqlite3_stmt* s) noexcept : s_(s) {}
    ~reset_guard() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    reset_guard(const reset_guard&) = delete;
    reset_guard& operator=(const reset_guard&) = delete;

private:
    sqlite3_stmt* s_;
};

// A BLOB or TEXT column as bytes (valid until the statement steps or resets).
std::string_view column_bytes(sqlite3_stmt* s, int column) noexcept;

}  // namespace spillway::spool::sqlite
