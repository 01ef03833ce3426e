#include "spillway/proxy/rate_limiter.hpp"

#include "spillway/core/ids.hpp"
#include "spillway/proxy/rate_limit_client.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace spillway::proxy {

namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finalizer
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Seeded per process from the OS's CSPRNG, so nobody can choose addresses that all land in one
// shard's chain.
std::uint64_t random_seed() {
    return core::random_u64();
}

}  // namespace

std::size_t rate_limiter::address_hash::operator()(const netx::ip_address& a) const {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::memcpy(&hi, a.bytes.data(), 8);
    std::memcpy(&lo, a.bytes.data() + 8, 8);
    return mix(hi ^ seed) ^ mix(lo + seed);
}

rate_limiter::rate_limiter(const config::rate_limit_config& cfg)
    : params_{cfg.requests_per_second, cfg.effective_burst()},
      trusted_(cfg.trusted_proxies),
      max_per_shard_(std::max<std::size_t>(1, (cfg.max_clients + shard_count - 1) / shard_count)),
      hash_{random_seed()} {
    for (auto& s : shards_) {
        s.buckets = std::unordered_map<netx::ip_address, token_bucket, address_hash>(0, hash_);
    }
}

std::unique_ptr<rate_limiter> rate_limiter::from_config(const config::rate_limit_config& cfg) {
    if (!cfg.enabled()) {
        return nullptr;
    }
    return std::make_unique<rate_limiter>(cfg);
}

rate_decision rate_limiter::admit(const client_request& req, std::string_view peer,
                                  rate_clock::time_point now) {
    const auto peer_address = netx::parse_ip_address(peer);
    if (!peer_address) {
        return {};  // a socket without a peer address ("unknown") cannot be keyed: let it pass
    }
    return admit(rate_limit_client(*peer_address, req, trusted_), now);
}

rate_decision rate_limiter::admit(const netx::ip_address& client, rate_clock::time_point now) {
    auto& s = shards_[shard_of(client)];
    std::lock_guard lock(s.mutex);
    auto it = s.buckets.find(client);
    if (it == s.buckets.end()) {
        if (s.buckets.size() >= max_per_shard_) {
            make_room(s, now);
        }
        it = s.buckets.emplace(client, token_bucket(params_, now)).first;
    }
    return it->second.take(params_, now);
}

void rate_limiter::make_room(shard& s, rate_clock::time_point now) {
    const auto before = s.buckets.size();
    std::erase_if(s.buckets, [&](const auto& entry) { return entry.second.full(params_, now); });
    if (s.buckets.size() < before) {
        return;
    }
    // Every client is still being limited: forget the least recently used quarter at once, so
    // a stream of new addresses pays for this scan once per max_per_shard / 4 arrivals.
    std::vector<rate_clock::time_point> times;
    times.reserve(s.buckets.size());
    for (const auto& entry : s.buckets) {
        times.push_back(entry.second.updated());
    }
    const auto victims = std::max<std::size_t>(1, times.size() / 4);
    std::nth_element(times.begin(), times.begin() + (victims - 1), times.end());
    const auto cutoff = times[victims - 1];
    std::erase_if(s.buckets, [&](const auto& entry) { return entry.second.updated() <= cutoff; });
}

std::size_t rate_limiter::tracked_clients() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mutex);
        n += s.buckets.size();
    }
    return n;
}

client_response rate_limited_response(std::chrono::seconds retry_after, std::string_view request_id,
                                      unsigned version, bool keep_alive) {
    const auto seconds = std::to_string(retry_after.count());
    auto res =
        make_json_response(http::status::too_many_requests,
                           R"({"error":"rate_limited","request_id":")" + std::string(request_id) +
                               R"(","retry_after":)" + seconds + "}",
                           version, keep_alive);
    res.set(http::field::retry_after, seconds);
    res.set("X-Request-Id", request_id);
    return res;
}

}  // namespace spillway::proxy
