#include "spillway/spool/spool.hpp"

#include "spillway/spool/sqlite.hpp"

#include "unit/spool/spool_fixtures.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <latch>

#include <sys/wait.h>
#include <unistd.h>

namespace spillway::spool {
namespace {

namespace net = boost::asio;
using namespace testing;

// Counts completions; the test waits on the latch.
class counting_callback final : public append_callback {
public:
    counting_callback(std::latch& done, std::atomic<int>& ok, std::atomic<int>& full)
        : done_(done), ok_(ok), full_(full) {}
    void on_appended(boost::system::error_code ec) noexcept override {
        if (!ec) {
            ++ok_;
        } else if (ec == errc::full) {
            ++full_;
        }
        done_.count_down();
    }

private:
    std::latch& done_;
    std::atomic<int>& ok_;
    std::atomic<int>& full_;
};

TEST(SpoolTest, AppendsAreReadBackInOrderWithEveryField) {
    temp_dir dir;
    spool s(dir.config());
    std::uint64_t expected_bytes = 0;
    for (int i = 0; i < 10; ++i) {
        expected_bytes += record_bytes(make_record(i, 100 + i));
        ASSERT_FALSE(append_and_wait(s, make_record(i, 100 + i)));
    }
    EXPECT_EQ(s.records(), 10u);
    EXPECT_EQ(s.bytes(), expected_bytes);
    const auto all = s.read_after(0, 100, 1ull << 30);
    ASSERT_EQ(all.size(), 10u);
    for (int i = 0; i < 10; ++i) {
        const auto want = make_record(i, 100 + i);
        EXPECT_EQ(all[i].record.topic, want.topic);
        EXPECT_EQ(all[i].record.key, want.key);
        EXPECT_EQ(all[i].record.value, want.value);
        EXPECT_EQ(all[i].record.headers, want.headers);
        EXPECT_EQ(all[i].bytes, record_bytes(want));
        if (i > 0) {
            EXPECT_GT(all[i].seq, all[i - 1].seq);
        }
    }
    // Bounded reads: by count, and by bytes (yet at least one record).
    EXPECT_EQ(s.read_after(all[2].seq, 3, 1ull << 30).front().seq, all[3].seq);
    EXPECT_EQ(s.read_after(0, 100, 1).size(), 1u);
}

TEST(SpoolTest, RemoveDeletesAndFreesBytes) {
    temp_dir dir;
    spool s(dir.config());
    for (int i = 0; i < 5; ++i) {
        ASSERT_FALSE(append_and_wait(s, make_record(i)));
    }
    const auto all = s.read_after(0, 10, 1ull << 30);
    std::promise<bool> removed;
    s.remove({all[0].seq, all[3].seq, 999999}, [&](bool ok) { removed.set_value(ok); });
    auto f = removed.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(f.get());
    EXPECT_EQ(s.records(), 3u);
    EXPECT_EQ(s.bytes(), 3 * record_bytes(make_record(0)));
    const auto left = s.read_after(0, 10, 1ull << 30);
    ASSERT_EQ(left.size(), 3u);
    EXPECT_EQ(left[0].record.key, "key-1");
    EXPECT_EQ(left[1].record.key, "key-2");
    EXPECT_EQ(left[2].record.key, "key-4");
}

TEST(SpoolTest, GroupCommitTurnsABurstIntoFewTransactions) {
    constexpr int appends = 2000;
    constexpr int threads = 4;
    temp_dir dir;
    spool s(dir.config());
    std::latch done(appends);
    std::atomic<int> ok{0};
    std::atomic<int> full{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> callers;
    for (int t = 0; t < threads; ++t) {
        callers.emplace_back([&, t] {
            for (int i = t; i < appends; i += threads) {
                s.append(make_record(i, 1024), std::make_unique<counting_callback>(done, ok, full));
            }
        });
    }
    for (auto& c : callers) {
        c.join();
    }
    ASSERT_TRUE(eventually([&] { return done.try_wait(); }, std::chrono::seconds(60)));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(ok.load(), appends);
    EXPECT_EQ(s.records(), static_cast<std::uint64_t>(appends));
    // Every caller enqueues at once; the writer commits whatever waits. One fsync per append
    // would be 2000 transactions.
    EXPECT_LT(s.transactions(), static_cast<std::uint64_t>(appends / 10));
    std::printf(
        "[ measure  ] %d appends (1 KiB) in %.3f s = %.0f appends/s, %llu transactions, "
        "%.1f appends per transaction\n",
        appends, seconds, appends / seconds, static_cast<unsigned long long>(s.transactions()),
        static_cast<double>(appends) / static_cast<double>(s.transactions()));
}

// The proxy's shape: many requests, each waiting for its own append before sending the next.
// While one transaction is being fsynced, the next one gathers everyone who is waiting.
TEST(SpoolTest, GroupCommitServesClosedLoopCallers) {
    constexpr int clients = 64;
    constexpr int per_client = 20;
    temp_dir dir;
    spool s(dir.config());
    std::atomic<int> failures{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> callers;
    for (int c = 0; c < clients; ++c) {
        callers.emplace_back([&, c] {
            for (int i = 0; i < per_client; ++i) {
                if (append_and_wait(s, make_record(c * per_client + i, 1024))) {
                    ++failures;
                }
            }
        });
    }
    for (auto& t : callers) {
        t.join();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    constexpr int total = clients * per_client;
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(s.records(), static_cast<std::uint64_t>(total));
    EXPECT_LT(s.transactions(), static_cast<std::uint64_t>(total / 4));
    std::printf(
        "[ measure  ] %d closed-loop callers x %d appends: %.0f appends/s, "
        "%.1f appends per transaction\n",
        clients, per_client, total / seconds,
        static_cast<double>(total) / static_cast<double>(s.transactions()));
}

// Records of 1 MiB: the files' own overhead (schema pages, log frame headers) stays far below
// half a record, so the bound below admits exactly three whatever the commits look like.
constexpr std::size_t mib = 1 << 20;

TEST(SpoolTest, MaxBytesRejectsAppendsPastTheBound) {
    temp_dir dir;
    const std::uint64_t one = record_bytes(make_record(0, mib));
    spool s(dir.config(3 * one + one / 2));
    // A burst: the bound counts what is queued, not only what is committed.
    std::latch done(5);
    std::atomic<int> ok{0};
    std::atomic<int> full{0};
    for (int i = 0; i < 5; ++i) {
        s.append(make_record(i, mib), std::make_unique<counting_callback>(done, ok, full));
    }
    ASSERT_TRUE(eventually([&] { return done.try_wait(); }));
    EXPECT_EQ(ok.load(), 3);
    EXPECT_EQ(full.load(), 2);
    EXPECT_EQ(s.rejected_full(), 2u);
    EXPECT_EQ(s.records(), 3u);
    EXPECT_EQ(s.bytes(), 3 * one);
    EXPECT_GE(s.used_bytes(), 3 * one);
    const auto err = append_and_wait(s, make_record(9, mib));
    EXPECT_EQ(err, errc::full);
    EXPECT_NE(err.message().find("max_bytes"), std::string::npos);

    // Draining frees room again: the records, and the log that still held them.
    std::promise<bool> removed;
    std::vector<std::int64_t> seqs;
    for (const auto& r : s.read_after(0, 10, 1ull << 30)) {
        seqs.push_back(r.seq);
    }
    s.remove(std::move(seqs), [&](bool r) { removed.set_value(r); });
    ASSERT_TRUE(removed.get_future().get());
    EXPECT_LT(s.disk_bytes(), one / 2);
    EXPECT_FALSE(append_and_wait(s, make_record(10, mib)));
}

// The files, not only the records, count: a spool of many small records (one commit each, each
// one log frame of a whole page) is refused once its files reach the bound, long before its
// records' bytes would, and its files never pass the bound by more than one commit.
TEST(SpoolTest, WhatIsOnDiskCountsAgainstTheBound) {
    temp_dir dir;
    constexpr std::uint64_t bound = 256 * 1024;
    spool s(dir.config(bound));
    int appended = 0;
    for (int i = 0; i < 1000 && !append_and_wait(s, make_record(i, 1000)); ++i) {
        ++appended;
    }
    EXPECT_GT(appended, 0);
    EXPECT_LT(s.bytes(), bound / 2) << "the records' bytes alone decided";
    EXPECT_GT(s.used_bytes(), s.bytes());
    EXPECT_EQ(s.used_bytes(), s.disk_bytes());
    EXPECT_LE(s.disk_bytes(), bound + 64 * 1024);
    std::uint64_t on_disk = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
        on_disk += f.is_regular_file() ? f.file_size() : 0;
    }
    EXPECT_GE(on_disk, s.disk_bytes() - 64 * 1024) << "disk_bytes() is not what is on disk";
}

// A spool that filled and drained gives the space back: its free pages are vacuumed as the drain
// goes and its log is truncated once it is empty (spool_db::reclaim).
TEST(SpoolTest, FillAndDrainReturnsTheFilesToASmallSize) {
    temp_dir dir;
    spool s(dir.config());
    constexpr int count = 200;
    constexpr std::size_t value_size = 100 * 1024;  // 20 MB in all
    for (int i = 0; i < count; i += 20) {
        ASSERT_FALSE(append_all_and_wait(s, i, i + 20, value_size));
    }
    const auto dir_size = [&] {
        std::uint64_t n = 0;
        for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
            n += f.is_regular_file() ? f.file_size() : 0;
        }
        return n;
    };
    const std::uint64_t full_size = dir_size();
    EXPECT_GT(full_size, count * value_size);
    // Drained in batches, as the drainer does: the size shrinks on the way, not only at the end.
    std::uint64_t half_way = 0;
    for (int round = 0; s.records() > 0 && round < count; ++round) {
        std::vector<std::int64_t> seqs;
        for (const auto& r : s.read_after(0, 20, 1ull << 30)) {
            seqs.push_back(r.seq);
        }
        std::promise<bool> removed;
        s.remove(std::move(seqs), [&](bool r) { removed.set_value(r); });
        ASSERT_TRUE(removed.get_future().get());
        if (s.records() == count / 2) {
            half_way = dir_size();
        }
    }
    ASSERT_EQ(s.records(), 0u);
    EXPECT_GT(half_way, 0u);
    EXPECT_LT(half_way, full_size) << "nothing given back half way";
    EXPECT_LT(dir_size(), 256u * 1024) << "the drained spool still holds its space";
    EXPECT_LE(s.disk_bytes(), dir_size());
    std::printf(
        "[ measure  ] spool of %d x %zu bytes: %llu bytes on disk full, %llu half drained, %llu "
        "drained\n",
        count, value_size, static_cast<unsigned long long>(full_size),
        static_cast<unsigned long long>(half_way), static_cast<unsigned long long>(dir_size()));
}

TEST(SpoolTest, SizeAccountingSurvivesReopen) {
    temp_dir dir;
    std::uint64_t bytes = 0;
    {
        spool s(dir.config());
        for (int i = 0; i < 7; ++i) {
            ASSERT_FALSE(append_and_wait(s, make_record(i, 200 + i)));
        }
        std::promise<bool> removed;
        s.remove({s.read_after(0, 1, 1ull << 30).front().seq},
                 [&](bool r) { removed.set_value(r); });
        ASSERT_TRUE(removed.get_future().get());
        bytes = s.bytes();
    }
    {
        spool reopened(dir.config(bytes + record_bytes(make_record(100, 1))));
        EXPECT_EQ(reopened.records(), 6u);
        EXPECT_EQ(reopened.bytes(), bytes);
        // The recovered size counts against the bound.
        EXPECT_EQ(append_and_wait(reopened, make_record(100, 200)), errc::full);
    }
    spool reopened(dir.config());
    // New records come after the recovered ones.
    ASSERT_FALSE(append_and_wait(reopened, make_record(101, 1)));
    EXPECT_EQ(reopened.read_after(0, 100, 1ull << 30).back().record.key, "key-101");
}

TEST(SpoolTest, QuarantineMovesARecordAsideKeepsItOnDiskAndCountsItAgainstTheBound) {
    temp_dir dir;
    const std::uint64_t one = record_bytes(make_record(0, mib));
    {
        spool s(dir.config());
        for (int i = 0; i < 3; ++i) {
            ASSERT_FALSE(append_and_wait(s, make_record(i, mib)));
        }
        const auto first = s.read_after(0, 1, 1ull << 30).front().seq;
        std::promise<bool> moved;
        s.quarantine(first, "Broker: Message size too large", [&](bool r) { moved.set_value(r); });
        ASSERT_TRUE(moved.get_future().get());
        EXPECT_EQ(s.records(), 2u);
        EXPECT_EQ(s.bytes(), 2 * one);
        EXPECT_EQ(s.quarantined_records(), 1u);
        EXPECT_EQ(s.quarantined_bytes(), one);
        // The drain no longer sees it...
        EXPECT_EQ(s.read_after(0, 100, 1ull << 30).front().record.key, "key-1");
        // ...but it is still on disk, so it still counts against spool.max_bytes.
        EXPECT_GE(s.used_bytes(), 3 * one);
        ASSERT_FALSE(append_and_wait(s, make_record(3, mib)));
    }
    spool reopened(dir.config());
    EXPECT_EQ(reopened.records(), 3u);
    EXPECT_EQ(reopened.quarantined_records(), 1u);
    EXPECT_EQ(reopened.quarantined_bytes(), one);
    EXPECT_GE(reopened.used_bytes(), 4 * one);
    // What the operator finds (README, "The spool").
    sqlite::db_ptr db = sqlite::open(reopened.path(), SQLITE_OPEN_READONLY);
    EXPECT_EQ(sqlite::query_int(db.get(),
                                "SELECT count(*) FROM quarantine WHERE CAST(key AS TEXT) = 'key-0' "
                                "AND reason = 'Broker: Message size too large' "
                                "AND quarantined_at LIKE '20%Z'"),
              1);
}

TEST(SpoolTest, AppendAfterCloseFailsWithClosed) {
    temp_dir dir;
    spool s(dir.config());
    s.close();
    EXPECT_EQ(append_and_wait(s, make_record(1)), errc::closed);
    EXPECT_TRUE(s.read_after(0, 10, 100).empty());
}

TEST(SpoolTest, AsyncAppendCompletesOnTheCallersExecutor) {
    temp_dir dir;
    spool s(dir.config(record_bytes(make_record(0, mib)) + mib / 2));
    net::io_context ioc;
    std::vector<boost::system::error_code> results;
    std::vector<bool> on_io_thread;
    const auto io_thread = std::this_thread::get_id();
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
            for (int i = 0; i < 2; ++i) {
                auto [ec] =
                    co_await s.async_append(make_record(i, mib), net::as_tuple(net::use_awaitable));
                results.push_back(ec);
                on_io_thread.push_back(std::this_thread::get_id() == io_thread);
            }
        },
        net::detached);
    // The pending append keeps the io_context busy; run() returns once both completed.
    ioc.run_for(std::chrono::seconds(10));
    ASSERT_EQ(results.size(), 2u);
    EXPECT_FALSE(results[0]);
    EXPECT_EQ(results[1], errc::full);
    EXPECT_EQ(on_io_thread, (std::vector<bool>{true, true}));
    EXPECT_TRUE(ioc.stopped());
}

}  // namespace
}  // namespace spillway::spool
