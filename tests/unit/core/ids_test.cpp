// Request ids (random UUIDv4 from the OS's CSPRNG) and format_rfc3339 (the envelope's
// received_at, UTC to the millisecond).

#include "spillway/core/ids.hpp"

#include "spillway/core/os_random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <regex>
#include <thread>
#include <unordered_set>
#include <vector>

namespace spillway::core {
namespace {

using namespace std::chrono;

// 8-4-4-4-12 lower-case hex; version nibble 4; variant bits 10 (8, 9, a or b).
TEST(RequestId, CanonicalUuidV4) {
    static const std::regex uuid_v4(
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    for (int i = 0; i < 1000; ++i) {
        const auto id = request_id::generate().str();
        ASSERT_EQ(id.size(), 36u);
        ASSERT_TRUE(std::regex_match(id, uuid_v4)) << id;
    }
}

// Many times the 4 KiB batch, so refills are crossed; over several threads at once, each with
// its own batch. A repeat among 400,000 ids of 122 random bits would mean a broken source.
TEST(RequestId, NoRepeatsAcrossBatchesAndThreads) {
    constexpr int threads = 4;
    constexpr int per_thread = 100000;
    std::vector<std::vector<std::string>> made(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&out = made[t]] {
            out.reserve(per_thread);
            for (int i = 0; i < per_thread; ++i) {
                out.push_back(request_id::generate().str());
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    std::unordered_set<std::string> seen;
    for (const auto& ids : made) {
        for (const auto& id : ids) {
            ASSERT_TRUE(seen.insert(id).second) << "repeated id " << id;
        }
    }
    EXPECT_EQ(seen.size(), std::size_t{threads * per_thread});
}

// Every bit varies: a stuck bit (a buffer handed out zeroed, or twice) shows at once.
TEST(OsRandom, EveryBitVaries) {
    std::uint64_t ones = 0;
    std::uint64_t zeros = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::uint64_t v = random_u64();
        ones |= v;
        zeros |= ~v;
    }
    EXPECT_EQ(ones, ~std::uint64_t{0});
    EXPECT_EQ(zeros, ~std::uint64_t{0});
}

// Requests larger than a batch, and of odd sizes, are filled whole.
TEST(OsRandom, FillsAnySize) {
    std::vector<unsigned char> big(3 * 4096 + 7, 0);
    os_random_bytes(big.data(), big.size());
    std::size_t zero_run = 0;
    std::size_t longest = 0;
    for (unsigned char c : big) {
        zero_run = c == 0 ? zero_run + 1 : 0;
        longest = std::max(longest, zero_run);
    }
    EXPECT_LT(longest, 8u) << "a run of zero bytes: part of the buffer was not filled";
    std::array<unsigned char, 3> small{};
    os_random_bytes(small.data(), 0);  // nothing asked, nothing written
    EXPECT_EQ(small, (std::array<unsigned char, 3>{}));
}

system_clock::time_point at(sys_days day, hours h, minutes m, seconds s, milliseconds ms) {
    return system_clock::time_point(day) + h + m + s + ms;
}

TEST(Rfc3339, UtcWithMillisecondsZeroPadded) {
    const sys_days day = year{2026} / 11 / 27;
    EXPECT_EQ(format_rfc3339(at(day, 2h, 3min, 4s, 5ms)), "2026-11-27T02:03:04.005Z");
    EXPECT_EQ(format_rfc3339(at(day, 2h, 3min, 4s, 999ms)), "2026-11-27T02:03:04.999Z");
    EXPECT_EQ(format_rfc3339(at(day, 23h, 59min, 59s, 0ms)), "2026-11-27T23:59:59.000Z");
}

// The calendar part is cached per second: a new second, back and forth, must never reuse it.
TEST(Rfc3339, EachSecondFormattedAfresh) {
    const sys_days day = year{2026} / 12 / 31;
    EXPECT_EQ(format_rfc3339(at(day, 23h, 59min, 59s, 998ms)), "2026-12-31T23:59:59.998Z");
    EXPECT_EQ(format_rfc3339(at(day, 23h, 59min, 59s, 999ms) + 1ms), "2027-01-01T00:00:00.000Z");
    EXPECT_EQ(format_rfc3339(at(day, 23h, 59min, 59s, 1ms)), "2026-12-31T23:59:59.001Z");
    EXPECT_EQ(format_rfc3339(at(day, 0h, 0min, 0s, 0ms) + microseconds(999)),
              "2026-12-31T00:00:00.000Z");
}

}  // namespace
}  // namespace spillway::core
