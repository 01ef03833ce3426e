#pragma once
// The proxy's per-client rate limit (rate_limit.*): one token bucket per client address, shared
// by every worker thread. Workers each accept their own connections (SO_REUSEPORT), so one
// client's connections land on different workers; per-worker buckets would multiply the allowed
// rate by the thread count. The buckets live in 64 shards, each a mutex and a hash map keyed by
// the address's 16 bytes, so workers rarely meet on the same lock.
//
// Memory is bounded: a shard holds at most ceil(max_clients / 64) buckets. When a new client
// arrives at a full shard, the buckets that have refilled completely are dropped first (a full
// bucket is the same as no bucket, so nothing changes); if none has, the least recently used
// quarter of the shard is dropped, and those clients start again with a full burst. A flood of
// distinct addresses therefore costs bounded memory and weakens the limit only for the clients
// it pushes out.

#include "spillway/config/config.hpp"
#include "spillway/net/ip_prefix.hpp"
#include "spillway/proxy/failure_handler.hpp"
#include "spillway/proxy/rate_limit_bucket.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace spillway::proxy {

class rate_limiter {
public:
    static constexpr std::size_t shard_count = 64;

    explicit rate_limiter(const config::rate_limit_config& cfg);

    // Null when rate limiting is off (requests_per_second = 0).
    static std::unique_ptr<rate_limiter> from_config(const config::rate_limit_config& cfg);

    // Takes a token from the request's client (rate_limit_client: the peer, or the address a
    // trusted proxy forwarded for). `peer` is the socket's peer address as text.
    rate_decision admit(const client_request& req, std::string_view peer,
                        rate_clock::time_point now);

    // Takes a token from `client`'s bucket.
    rate_decision admit(const netx::ip_address& client, rate_clock::time_point now);

    // Buckets held now (locks every shard: for tests and diagnostics, not the hot path).
    std::size_t tracked_clients() const;
    std::size_t max_per_shard() const { return max_per_shard_; }
    // The shard holding a client's bucket: the top 6 bits of its (seeded) hash.
    std::size_t shard_of(const netx::ip_address& client) const { return hash_(client) >> 58; }

private:
    struct address_hash {
        std::uint64_t seed;
        std::size_t operator()(const netx::ip_address& a) const;
    };
    struct alignas(64) shard {
        mutable std::mutex mutex;
        std::unordered_map<netx::ip_address, token_bucket, address_hash> buckets;
    };

    void make_room(shard& s, rate_clock::time_point now);

    bucket_params params_;
    std::vector<netx::ip_prefix> trusted_;
    std::size_t max_per_shard_;
    address_hash hash_;
    std::array<shard, shard_count> shards_;
};

// The 429 answer: Retry-After, X-Request-Id and a JSON body like the proxy's other errors.
client_response rate_limited_response(std::chrono::seconds retry_after, std::string_view request_id,
                                      unsigned version, bool keep_alive);

}  // namespace spillway::proxy
