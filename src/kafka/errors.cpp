#include "spillway/kafka/errors.hpp"

#include <librdkafka/rdkafka.h>

#include <string>

namespace spillway::kafka {

namespace {

static_assert(static_cast<int>(errc::msg_size_too_large) == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
static_assert(static_cast<int>(errc::purge_inflight) == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT);
static_assert(static_cast<int>(errc::purge_queue) == RD_KAFKA_RESP_ERR__PURGE_QUEUE);
static_assert(static_cast<int>(errc::queue_full) == RD_KAFKA_RESP_ERR__QUEUE_FULL);
static_assert(static_cast<int>(errc::msg_timed_out) == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
static_assert(static_cast<int>(errc::destroy) == RD_KAFKA_RESP_ERR__DESTROY);

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "kafka"; }

    std::string message(int ev) const override {
        // librdkafka's static table: "Local: Message timed out", "Broker: Message size too large".
        return rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(ev));
    }
};

}  // namespace

const boost::system::error_category& kafka_category() noexcept {
    static const category instance;
    return instance;
}

bool is_permanent_error(const boost::system::error_code& ec) noexcept {
    if (ec.category() != kafka_category()) {
        return false;
    }
    switch (static_cast<rd_kafka_resp_err_t>(ec.value())) {
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
        case RD_KAFKA_RESP_ERR_INVALID_MSG:
        case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
            return true;
        default:
            return false;
    }
}

}  // namespace spillway::kafka
