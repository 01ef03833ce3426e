#pragma once
// Idempotency keys, as Stripe's API and the IETF draft "The Idempotency-Key HTTP Header Field"
// describe them: the first response to a key is remembered and returned again for every repeat
// of the same request, which then creates nothing. A key reused for a different request (method,
// target or body) is an error (422). Bounded: past `capacity` keys the oldest is forgotten, as a
// real API forgets keys after a day. Not synchronised: users_api serialises access.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace spillway::sample_api {

struct stored_response {
    unsigned status = 0;
    std::string body;
    std::string location;  // the Location header, when there was one
};

class idempotency_cache {
public:
    explicit idempotency_cache(std::size_t capacity = 10000) : capacity_(capacity) {}

    // What a request carrying `key` should get.
    enum class verdict { new_request, repeat, mismatch };
    struct lookup_result {
        verdict what = verdict::new_request;
        const stored_response* response = nullptr;  // for `repeat`
    };

    // `fingerprint` identifies the request: method, target and body (see fingerprint()).
    lookup_result lookup(const std::string& key, const std::string& fingerprint) const;

    // Remembers the first response to `key`; a key already present is left as it is.
    void remember(const std::string& key, std::string fingerprint, stored_response response);

    std::size_t size() const { return entries_.size(); }

    static std::string fingerprint(const std::string& method, const std::string& target,
                                   const std::string& body);

private:
    struct entry {
        std::string fingerprint;
        stored_response response;
    };
    std::size_t capacity_;
    std::unordered_map<std::string, entry> entries_;
    std::deque<std::string> order_;  // oldest first, for eviction
};

}  // namespace spillway::sample_api
