#pragma once
// The durable local spool: a FIFO of Kafka records in SQLite (`spool.dir`/spool.db, WAL mode,
// synchronous=FULL), used when Kafka has not confirmed a capture in time. spool.max_bytes bounds
// what it takes on disk: records, quarantined records, and the files' own overhead (the log,
// free pages), which the writer gives back as the drain empties it. One writer thread
// takes every operation waiting in its queue and commits them in ONE transaction (group commit:
// a burst of appends costs a few fsyncs, not one each), then completes each append. Nothing
// blocks the caller. The drainer (drainer.hpp) reads the oldest records and deletes each one
// after Kafka acknowledged it.

#include "spillway/config/config.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/net/tracked_completion.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace spillway::spool {

enum class errc {
    full = 1,  // the append would take the spool past spool.max_bytes
    closed,  // the spool is closing or closed
    storage,  // SQLite failed (disk full, I/O error): nothing of the append was stored
};

const boost::system::error_category& spool_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), spool_category()};
}

// Completes one append: called exactly once, on the spool's writer thread, after the
// transaction holding the record was committed (fsynced), or with the reason it was not stored.
// Must not block and must not throw.
class append_callback {
public:
    virtual ~append_callback() = default;
    virtual void on_appended(boost::system::error_code ec) noexcept = 0;
};

struct remove_op;  // a queued deletion or quarantine (spool.cpp)
struct spool_totals;  // spool_db.hpp

// One record as the drainer reads it back.
struct stored_record {
    std::int64_t seq = 0;  // strictly increasing, never reused: the FIFO order
    kafka::record record;
    std::uint64_t bytes = 0;  // what it counts against spool.max_bytes
};

// What a record counts against spool.max_bytes: its topic, key, value and headers.
std::uint64_t record_bytes(const kafka::record& r) noexcept;

class spool {
public:
    // Opens (or creates) `cfg.dir`/spool.db and recovers what a previous process committed,
    // including its size. Startup only: throws std::runtime_error naming the file on failure.
    explicit spool(const config::spool_config& cfg);
    ~spool();  // close()

    spool(const spool&) = delete;
    spool& operator=(const spool&) = delete;

    // Queues the record for the next group commit; never blocks. The callback (may be null)
    // fires on the writer thread: success once committed; errc::full past max_bytes;
    // errc::storage when SQLite failed. After close() it fires at once, on the caller's thread,
    // with errc::closed.
    void append(kafka::record&& r, std::unique_ptr<append_callback> callback) noexcept;

    // The same as an Asio operation: completes with error_code on the handler's executor
    // (e.g. `co_await s.async_append(std::move(r), net::as_tuple(net::use_awaitable))`).
    template <typename CompletionToken>
    auto async_append(kafka::record&& r, CompletionToken&& token);

    // Up to `max_records` of the oldest records with seq > after_seq, in order, stopping once
    // `max_bytes` is reached (at least one record when any is there). For the drainer's thread.
    std::vector<stored_record> read_after(std::int64_t after_seq, std::size_t max_records,
                                          std::uint64_t max_bytes);

    // Queues the deletion of these records for the next group commit. `done` (optional) runs on
    // the writer thread once they are gone (false when the transaction failed: they stay).
    void remove(std::vector<std::int64_t> seqs, std::function<void(bool)> done = {});

    // Queues moving this record to the quarantine table (with the reason and the time): for a
    // record Kafka refuses for good, which must neither block the records behind it nor be
    // dropped. Quarantined records stay on disk and count against spool.max_bytes until the
    // operator deals with them (README, "The spool"). `done` as for remove().
    void quarantine(std::int64_t seq, std::string reason, std::function<void(bool)> done = {});

    // Called on the writer thread after every commit that added records (the drainer's wake-up).
    // Set before the first append.
    void set_on_appended(std::function<void()> listener);

    // Commits what is queued, then stops the writer; later appends fail with errc::closed.
    void close() noexcept;

    // Metrics: committed records and bytes, committed transactions, committed appends.
    std::uint64_t records() const noexcept { return records_.load(); }
    std::uint64_t bytes() const noexcept { return bytes_.load(); }
    std::uint64_t transactions() const noexcept { return transactions_.load(); }
    std::uint64_t appended() const noexcept { return appended_.load(); }
    std::uint64_t rejected_full() const noexcept { return rejected_full_.load(); }
    std::uint64_t quarantined_records() const noexcept { return quarantined_records_.load(); }
    std::uint64_t quarantined_bytes() const noexcept { return quarantined_bytes_.load(); }
    std::uint64_t max_bytes() const noexcept { return max_bytes_; }
    // What spool.db and its write-ahead log take on disk, measured after every commit.
    std::uint64_t disk_bytes() const noexcept { return disk_bytes_.load(); }
    // What counts against spool.max_bytes: the records, quarantined ones included, or the files
    // on disk when they are larger (page overhead, the log, pages not yet given back).
    std::uint64_t used_bytes() const noexcept {
        return std::max(bytes_.load() + quarantined_bytes_.load(), disk_bytes_.load());
    }
    // Transactions that SQLite failed (disk full, I/O error): their appends were answered
    // errc::storage, their deletions stay to be retried.
    std::uint64_t commit_failures() const noexcept { return commit_failures_.load(); }
    const std::string& path() const noexcept { return path_; }
    // Whether the last transaction committed (for /ready: "spool writable"); true until one fails.
    bool last_commit_ok() const noexcept { return last_commit_ok_.load(); }

    struct state;  // the SQLite file, the queue and the writer thread (spool.cpp)

private:
    std::string path_;
    std::uint64_t max_bytes_ = 0;
    std::atomic<std::uint64_t> records_{0};
    std::atomic<std::uint64_t> bytes_{0};
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> appended_{0};
    std::atomic<std::uint64_t> rejected_full_{0};
    std::atomic<std::uint64_t> quarantined_records_{0};
    std::atomic<std::uint64_t> quarantined_bytes_{0};
    std::atomic<std::uint64_t> disk_bytes_{0};
    std::atomic<std::uint64_t> commit_failures_{0};
    std::atomic<bool> last_commit_ok_{true};
    std::unique_ptr<state> state_;

    struct batch;  // the operations of one transaction

    void queue_removal(remove_op&& op);
    void writer_loop() noexcept;
    void commit(batch& b) noexcept;
    bool write(const batch& b, spool_totals& freed) noexcept;
};

namespace detail {

// Carries an Asio completion handler through append_callback: the result is posted to the
// handler's executor, which is kept busy (outstanding work) until then.
template <typename Handler>
class handler_callback final : public append_callback {
public:
    explicit handler_callback(Handler&& handler) : completion_(std::move(handler)) {}

    void on_appended(boost::system::error_code ec) noexcept override { completion_.post(ec); }

private:
    netx::tracked_completion<Handler> completion_;
};

}  // namespace detail

template <typename CompletionToken>
auto spool::async_append(kafka::record&& r, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
        [this](auto handler, kafka::record&& rec) {
            using handler_type = std::decay_t<decltype(handler)>;
            append(std::move(rec),
                   std::make_unique<detail::handler_callback<handler_type>>(std::move(handler)));
        },
        token, std::move(r));
}

}  // namespace spillway::spool

template <>
struct boost::system::is_error_code_enum<spillway::spool::errc> : std::true_type {};
