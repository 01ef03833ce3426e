#include "spillway/spool/sqlite.hpp"

#include <stdexcept>

namespace spillway::spool::sqlite {

db_ptr open(const std::string& path, int flags) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    db_ptr db(raw);
    if (rc != SQLITE_OK) {
        const std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
        throw std::runtime_error(path + ": " + why);
    }
    return db;
}

void exec_or_throw(sqlite3* db, const char* sql) {
    if (exec(db, sql) != SQLITE_OK) {
        throw std::runtime_error(std::string(sqlite3_errmsg(db)) + " in: " + sql);
    }
}

int exec(sqlite3* db, const char* sql) noexcept {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

stmt_ptr prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
        throw std::runtime_error(std::string(sqlite3_errmsg(db)) + " in: " + sql);
    }
    return stmt_ptr(raw);
}

std::int64_t query_int(sqlite3* db, const char* sql) {
    stmt_ptr s = prepare(db, sql);
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) {
        throw std::runtime_error(std::string(sqlite3_errmsg(db)) + " in: " + sql);
    }
    return sqlite3_column_int64(s.get(), 0);
}

std::string_view column_bytes(sqlite3_stmt* s, int column) noexcept {
    const void* data = sqlite3_column_blob(s, column);
    const int size = sqlite3_column_bytes(s, column);
    if (data == nullptr || size <= 0) {
        return {};
    }
    return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
}

}  // namespace spillway::spool::sqlite
