// The hostile-client soak (issue 11): for about a minute, 500 connections send the conformance
// suite's framings, slowloris heads, endless chunk lines, declared bodies that never come and
// random bytes, reconnecting as the proxy closes them, while one well-behaved client keeps asking
// for a page. The proxy must stay up, answer the good client every time within a bound, keep its
// memory bounded, and count no internal error. Every process is stopped by pid at the end.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <thread>

#include <sys/resource.h>

namespace spillway::test {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

constexpr int hostile_connections = 500;

std::chrono::seconds soak_duration() {
    if (const char* s = std::getenv("SPILLWAY_SOAK_SECONDS")) {
        return std::chrono::seconds(std::max(5, std::atoi(s)));
    }
    return std::chrono::seconds(60);
}

// Resident memory of a process in KiB (0 when it cannot be read).
long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (in >> key) {
        if (key == "VmRSS:") {
            long kib = 0;
            in >> kib;
            return kib;
        }
        std::getline(in, key);
    }
    return 0;
}

std::vector<std::string> conformance_requests() {
    std::ifstream in(std::string(SPILLWAY_SOURCE_DIR) +
                     "/tests/integration/conformance/framing_cases.json");
    const auto doc = json::parse(in);  // (a range over a temporary's member would dangle)
    std::vector<std::string> out;
    for (const auto& c : doc.at("cases")) {
        out.push_back(c.at("request"));
    }
    return out;
}

struct attack_stats {
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> bytes{0};
};

// The bytes of one attack, in the pieces it is written in (with a pause between them).
std::vector<std::string> pick_attack(std::mt19937& rng, const std::vector<std::string>& framings) {
    std::vector<std::string> pieces;
    const auto kind = rng() % 6;
    if (kind < 2) {
        pieces.push_back(framings[rng() % framings.size()]);
    } else if (kind == 2) {  // slowloris: a head that never ends, a byte at a time
        pieces.push_back("GET /slow HTTP/1.1\r\nHost: proxy.test\r\n");
        pieces.insert(pieces.end(), 40, "X");
    } else if (kind == 3) {  // a chunk line without an end
        pieces.push_back(
            "POST /c HTTP/1.1\r\nHost: proxy.test\r\nTransfer-Encoding: chunked\r\n\r\n1;");
        pieces.insert(pieces.end(), 64, std::string(16 * 1024, 'e'));
    } else if (kind == 4) {  // a body declared and never sent
        pieces.push_back("POST /d HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: 60000\r\n\r\n");
    } else {  // random bytes
        std::string junk(1 + rng() % 8192, '\0');
        for (auto& ch : junk) {
            ch = static_cast<char>(rng());
        }
        pieces.push_back(std::move(junk));
    }
    return pieces;
}

// One hostile connection after another, until `until`: each picks an attack, writes it (slowly,
// for the slow ones) and reads whatever comes back until the proxy closes.
net::awaitable<void> hostile_client(std::uint16_t port, std::chrono::steady_clock::time_point until,
                                    const std::vector<std::string>* framings, unsigned seed,
                                    attack_stats& stats) {
    auto ex = co_await net::this_coro::executor;
    std::mt19937 rng(seed);
    net::steady_timer pause(ex);
    while (std::chrono::steady_clock::now() < until) {
        tcp::socket socket(ex);
        auto [cec] = co_await socket.async_connect({net::ip::address_v4::loopback(), port},
                                                   net::as_tuple(net::use_awaitable));
        if (cec) {
            pause.expires_after(std::chrono::milliseconds(50));
            co_await pause.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        ++stats.connections;
        const auto pieces = pick_attack(rng, *framings);
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            auto [wec, n] = co_await net::async_write(socket, net::buffer(pieces[i]),
                                                      net::as_tuple(net::use_awaitable));
            stats.bytes += n;
            if (wec || std::chrono::steady_clock::now() >= until) {
                break;
            }
            if (pieces.size() > 1) {
                pause.expires_after(std::chrono::milliseconds(100 + rng() % 200));
                co_await pause.async_wait(net::as_tuple(net::use_awaitable));
            }
        }
        // Read until the proxy closes (or our time is up): the proxy decides when it is over.
        char sink[4096];
        while (std::chrono::steady_clock::now() < until) {
            auto [rec, n] = co_await socket.async_read_some(net::buffer(sink),
                                                            net::as_tuple(net::use_awaitable));
            if (rec) {
                break;
            }
        }
    }
}

TEST(HostileSoak, TheProxyKeepsServingAGoodClientWithBoundedMemory) {
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);  // 500 hostile connections and the rest

    // Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default) before it is
    // reused, which would look like growth here; a small one keeps the bound meaningful.
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string asan_options = std::string(asan != nullptr ? asan : "") +
                                     (asan != nullptr ? ":" : "") + "quarantine_size_mb=16";
    setenv("ASAN_OPTIONS", asan_options.c_str(), 1);

    fake_backend backend;
    spillway_proxy proxy(backend.url(), {{"threads", 2},
                                         {"limits",
                                          {{"max_header_bytes", 8192},
                                           {"header_timeout_ms", 3000},
                                           {"body_timeout_ms", 3000},
                                           {"idle_timeout_ms", 3000}}},
                                         {"capture", {{"max_body_bytes", 65536}}},
                                         {"log", {{"access_log", false}}}});
    const auto rss_before = rss_kib(proxy.proc().pid());
    const auto framings = conformance_requests();
    const auto until = std::chrono::steady_clock::now() + soak_duration();

    attack_stats stats;
    net::io_context ioc;
    for (int i = 0; i < hostile_connections; ++i) {
        net::co_spawn(ioc, hostile_client(proxy.port(), until, &framings, 1000 + i, stats),
                      net::detached);
    }
    std::thread attackers([&ioc] { ioc.run(); });

    // The good client: one request at a time, each on a kept-alive connection, timed.
    std::uint64_t answered = 0, failed = 0;
    long rss_max = rss_before;
    auto slowest = std::chrono::steady_clock::duration::zero();
    std::optional<http_client> good;
    good.emplace(proxy.port(), 10s);
    while (std::chrono::steady_clock::now() < until) {
        const auto start = std::chrono::steady_clock::now();
        auto res = good->request(make_request("GET", "/good"));
        if (res.error || res.status != 200) {
            ++failed;
            good.emplace(proxy.port(), 10s);
        } else {
            ++answered;
        }
        slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
        rss_max = std::max(rss_max, rss_kib(proxy.proc().pid()));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pacing, not syncing
    }
    attackers.join();

    std::cout << "hostile connections: " << stats.connections << ", bytes sent: " << stats.bytes
              << "; good requests answered: " << answered << ", failed: " << failed << ", slowest: "
              << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()
              << " ms; RSS before " << rss_before / 1024 << " MiB, max " << rss_max / 1024
              << " MiB\n";
    EXPECT_TRUE(proxy.proc().running()) << "the proxy did not survive";
    EXPECT_EQ(failed, 0u);
    EXPECT_GT(answered, 100u);
    EXPECT_LT(slowest, std::chrono::seconds(5));
    EXPECT_GT(stats.connections, static_cast<std::uint64_t>(hostile_connections));
    // 500 connections with 64 KiB read buffers and 60 KB declared bodies are some tens of MiB;
    // unbounded buffering (a 1 MiB chunk line per connection) would be 500 MiB.
    EXPECT_LT(rss_max - rss_before, 384 * 1024) << "RSS grew from " << rss_before << " KiB";
    EXPECT_EQ(proxy.metric("spillway_internal_errors_total"), 0);
    EXPECT_EQ(proxy.terminate(), 0);
}

}  // namespace
}  // namespace spillway::test
