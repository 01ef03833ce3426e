#include "spillway/kafka/errors.hpp"

#include <librdkafka/rdkafka.h>

namespace spillway::kafka {

bool is_permanent_error(int error) noexcept {
    switch (static_cast<rd_kafka_resp_err_t>(error)) {
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
