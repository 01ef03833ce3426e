#include "spillway/sample_api/idempotency_cache.hpp"

#include <functional>

namespace spillway::sample_api {

idempotency_cache::lookup_result idempotency_cache::lookup(const std::string& key,
                                                           const std::string& fingerprint) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        return {verdict::new_request, nullptr};
    }
    if (it->second.fingerprint != fingerprint) {
        return {verdict::mismatch, nullptr};
    }
    return {verdict::repeat, &it->second.response};
}

void idempotency_cache::remember(const std::string& key, std::string fingerprint,
                                 stored_response response) {
    if (capacity_ == 0 || entries_.contains(key)) {
        return;
    }
    while (entries_.size() >= capacity_) {
        entries_.erase(order_.front());
        order_.pop_front();
    }
    entries_.emplace(key, entry{std::move(fingerprint), std::move(response)});
    order_.push_back(key);
}

std::string idempotency_cache::fingerprint(const std::string& method, const std::string& target,
                                           const std::string& body) {
    // The body is hashed, not kept: a key costs its response and a few dozen bytes, whatever the
    // request's size. A hash collision could only make a mismatched reuse look like a repeat.
    return method + ' ' + target + ' ' + std::to_string(std::hash<std::string>{}(body)) + ':' +
           std::to_string(body.size());
}

}  // namespace spillway::sample_api
