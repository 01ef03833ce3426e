// Large responses stream through the proxy: 64 MiB arrive whole and intact while the proxy's
// peak resident memory (VmHWM) grows by a small fraction of that.

#include "support/fake_backend.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <gtest/gtest.h>

namespace spillway::test {
namespace {

constexpr std::uint64_t large_body = 64ull * 1024 * 1024;
// Far below the body: a proxy that held the response whole would grow by at least 64 MiB.
constexpr long max_growth_kib = 16 * 1024;

class ProxyStreaming : public ::testing::Test {
protected:
    void expect_streamed(const route& r, std::string_view version) {
        backend_.on("/large", r);
        const auto pid = proxy_.proc().pid();
        // Warm up (first request allocates the session's and the pool's buffers), then measure.
        auto warm = fetch(proxy_.port(), "GET", "/warm");
        ASSERT_EQ(warm.status, 200u);
        const auto before = proc_status_kib(pid, "VmHWM");
        ASSERT_TRUE(before.has_value());

        http_client client(proxy_.port(), 20s);
        ASSERT_FALSE(client.send(make_request("GET", "/large", {}, {}, "proxy.test", version)));
        auto res = client.read_streamed();
        ASSERT_FALSE(res.error) << res.error.message() << " after " << res.body_bytes << " bytes";
        EXPECT_EQ(res.status, 200u);
        EXPECT_EQ(res.body_bytes, large_body);
        EXPECT_EQ(res.first_mismatch, UINT64_MAX) << "corrupted at offset " << res.first_mismatch;

        const auto after = proc_status_kib(pid, "VmHWM");
        ASSERT_TRUE(after.has_value());
        EXPECT_LT(*after - *before, max_growth_kib)
            << "peak RSS grew from " << *before << " KiB to " << *after << " KiB";
        RecordProperty("vmhwm_before_kib", std::to_string(*before));
        RecordProperty("vmhwm_after_kib", std::to_string(*after));
    }

    fake_backend backend_;
    spillway_proxy proxy_{backend_.url()};
};

TEST_F(ProxyStreaming, LargeContentLengthResponseStreamsInBoundedMemory) {
    expect_streamed(route{.body_bytes = large_body}, "1.1");
}

TEST_F(ProxyStreaming, LargeChunkedResponseStreamsInBoundedMemory) {
    expect_streamed(route{.body_bytes = large_body, .chunked = true}, "1.1");
}

TEST_F(ProxyStreaming, LargeChunkedResponseToAnHttp10ClientStreamsUntilClose) {
    expect_streamed(route{.body_bytes = large_body, .chunked = true}, "1.0");
}

}  // namespace
}  // namespace spillway::test
