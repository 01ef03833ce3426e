// The zero-downtime restart (README, "Restarting without downtime"): under steady load, a new
// proxy starts on the same address (SO_REUSEPORT), the old one gets SIGTERM and drains. No
// request fails, on fresh connections or kept-alive ones, and every request answered "queued"
// by either process is in Kafka exactly once; the old process exits 0.

#include "support/captures.hpp"
#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

namespace spillway::test {
namespace {

using json = nlohmann::json;

// What the load saw: the ids answered "queued", and every request that did not get a whole
// answer it should have got.
struct load_record {
    std::mutex mutex;
    std::set<std::string> queued;
    std::vector<std::string> failures;
    std::atomic<std::uint64_t> done{0};

    // Every 5th request goes to /capture (the backend answers 503: captured and queued).
    void check(const response& res, bool capture, std::string_view how) {
        std::lock_guard lock(mutex);
        done.fetch_add(1);
        if (res.error) {
            failures.push_back(std::string(how) + ": " + res.error.message());
        } else if (!capture && res.status != 200) {
            failures.push_back("status " + std::to_string(res.status) + ": " + res.body);
        } else if (capture) {
            const auto body = json::parse(res.body, nullptr, false);
            if (res.status != 503 || !body.is_object() || body.value("queued", false) != true) {
                failures.push_back("not queued: " + std::to_string(res.status) + " " + res.body);
            } else {
                queued.insert(body.value("request_id", std::string()));
            }
        }
    }
};

// POSTs on a new connection each.
void fresh_connections(std::uint16_t port, load_record& rec, const std::atomic<bool>& stop) {
    for (unsigned i = 0; !stop; ++i) {
        const bool capture = i % 5 == 4;
        rec.check(fetch(port, "POST", capture ? "/capture" : "/fresh", {}, "fresh"), capture,
                  "fresh connection");
    }
}

// POSTs on a kept-alive connection, a new one when the proxy answered Connection: close.
void kept_alive(std::uint16_t port, load_record& rec, const std::atomic<bool>& stop) {
    auto client = std::make_unique<http_client>(port);
    bool first = true;
    for (unsigned i = 0; !stop; ++i) {
        const bool capture = i % 5 == 4;
        const auto res =
            client->request(make_request("POST", capture ? "/capture" : "/kept", {}, "kept-alive"));
        rec.check(res, capture, first ? "first on a kept-alive connection" : "kept-alive");
        first = false;
        if (res.error || !res.keep_alive) {
            client = std::make_unique<http_client>(port);
            first = true;
        }
    }
}

bool wait_for_done(const load_record& rec, std::uint64_t n) {
    return wait_until([&] { return rec.done.load() >= n; }, 20s);
}

TEST(ProxyRestart, ANewProcessTakesOverUnderLoadWithoutAFailedOrLostRequest) {
    devbroker broker;
    fake_backend backend;
    backend.on("/capture", {.status = 503});
    temp_dir spools("spillway-restart");
    spillway_proxy old_proxy({backend.url(), broker.bootstrap(), spools / "old", {}});
    const auto port = old_proxy.port();

    load_record rec;
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    load.emplace_back(fresh_connections, port, std::ref(rec), std::cref(stop));
    load.emplace_back(kept_alive, port, std::ref(rec), std::cref(stop));
    load.emplace_back(kept_alive, port, std::ref(rec), std::cref(stop));
    ASSERT_TRUE(wait_for_done(rec, 100));

    // The new process on the same address, with a spool of its own.
    spillway_proxy new_proxy({backend.url(),
                              broker.bootstrap(),
                              spools / "new",
                              {{"listen", "127.0.0.1:" + std::to_string(port)}}});
    ASSERT_TRUE(wait_for_done(rec, rec.done.load() + 100));

    old_proxy.proc().signal(SIGTERM);
    const auto status = old_proxy.proc().wait_exit(15s);
    ASSERT_TRUE(wait_for_done(rec, rec.done.load() + 100));
    stop = true;
    for (auto& t : load) {
        t.join();
    }

    ASSERT_TRUE(status.has_value()) << "the old proxy did not exit";
    EXPECT_EQ(*status, 0) << old_proxy.proc().stderr_text();
    EXPECT_TRUE(rec.failures.empty())
        << rec.failures.size() << " failed, the first: " << rec.failures.front();
    EXPECT_GT(new_proxy.metric("spillway_requests_total", {{"outcome", "proxied"}}).value_or(0),
              0.0);
    ASSERT_FALSE(rec.queued.empty());
    const auto records =
        read_records(broker.bootstrap(), static_cast<std::int64_t>(rec.queued.size()));
    expect_exactly_once(records, rec.queued);
}

}  // namespace
}  // namespace spillway::test
