#pragma once
// The proxy's failure handler when capture is on: build the envelope, store it durably, and only
// then answer capture.response_status (503) with "queued": true, or false when nothing could
// store it (logged as an error and counted).

#include "spillway/capture/durable_store.hpp"
#include "spillway/config/config.hpp"
#include "spillway/proxy/failure_handler.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace spillway::capture {

// spillway_captured_total{failure, sink}: [failure_kind][sink].
struct capture_counters {
    std::array<std::array<std::atomic<std::uint64_t>, 3>, 5> captured{};

    std::uint64_t get(core::failure_kind kind, sink s) const {
        return captured[static_cast<std::size_t>(kind)][static_cast<std::size_t>(s)].load();
    }
};

class capture_handler final : public proxy::failure_handler {
public:
    // `cfg`: its kafka.* (restart only) and backend.url; capture.* comes with each request.
    capture_handler(const config::config& cfg, durable_store& store);

    netx::task<proxy::client_response> handle(const proxy::client_request& req,
                                              const core::failure& failure,
                                              proxy::request_record& record,
                                              const config::capture_config& capture) override;

    const capture_counters& counters() const { return counters_; }

private:
    const config::config& cfg_;
    durable_store& store_;
    std::string upstream_;  // backend host:port, as the envelope names it
    capture_counters counters_;
};

}  // namespace spillway::capture
