#include "spillway/sample_api/idempotency_cache.hpp"

#include <gtest/gtest.h>

namespace spillway::sample_api {
namespace {

TEST(IdempotencyCache, LooksUpByKeyAndFingerprint) {
    idempotency_cache cache(10);
    const auto fp = idempotency_cache::fingerprint("POST", "/x", "body");
    EXPECT_EQ(cache.lookup("k", fp).what, idempotency_cache::verdict::new_request);
    cache.remember("k", fp, {201, "first", "/x/1"});
    cache.remember("k", fp, {500, "second", ""});  // the first response stays
    auto found = cache.lookup("k", fp);
    ASSERT_EQ(found.what, idempotency_cache::verdict::repeat);
    EXPECT_EQ(found.response->status, 201u);
    EXPECT_EQ(found.response->body, "first");
    EXPECT_EQ(cache.lookup("k", idempotency_cache::fingerprint("POST", "/x", "bodY")).what,
              idempotency_cache::verdict::mismatch);
    EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace spillway::sample_api
