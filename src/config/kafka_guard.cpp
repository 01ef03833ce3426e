#include "spillway/config/kafka_guard.hpp"

#include "spillway/config/object_reader.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace spillway::config {

namespace {

struct guarded_key {
    std::string_view name;
    // The values librdkafka takes that keep the promise (empty: none, the key is refused).
    std::array<std::string_view, 3> allowed;
    std::string_view why;
};

// librdkafka's aliases count as what they mean: "-1" is all, "smallest" and "beginning" are
// earliest. Booleans are spelled true/false, as librdkafka documents them.
constexpr std::array<guarded_key, 7> guarded{{
    {"acks",
     {"all", "-1"},
     "must be all (or -1): a capture is queued only once every in-sync "
     "replica has it"},
    {"request.required.acks",
     {"all", "-1"},
     "must be all (or -1): a capture is queued only once every in-sync replica has it"},
    {"enable.idempotence",
     {"true"},
     "must be true: a producer retry must not store a request twice or out of order"},
    {"message.timeout.ms",
     {},
     "is set from kafka.delivery_timeout_ms, the capture's deadline before the spool: set that "
     "instead"},
    {"delivery.timeout.ms",
     {},
     "is set from kafka.delivery_timeout_ms, the capture's deadline before the spool: set that "
     "instead"},
    {"enable.auto.commit",
     {"false"},
     "may only be false: committing is the replay's own (it commits, every second, only the "
     "offsets of finished messages)"},
    {"enable.auto.offset.store",
     {"false"},
     "must be false: the replay stores an offset only once its message is finished"},
}};

}  // namespace

void check_kafka_properties(const std::map<std::string, std::string>& properties) {
    for (const auto& key : guarded) {
        const auto it = properties.find(std::string(key.name));
        if (it == properties.end()) {
            continue;
        }
        const bool ok =
            std::find(key.allowed.begin(), key.allowed.end(), it->second) != key.allowed.end() &&
            !it->second.empty();
        require(ok, "kafka.properties." + it->first,
                "\"" + it->second + "\" refused: " + std::string(key.why));
    }
    if (const auto it = properties.find("auto.offset.reset"); it != properties.end()) {
        const auto& v = it->second;
        require(v == "earliest" || v == "smallest" || v == "beginning",
                "kafka.properties.auto.offset.reset",
                "\"" + v +
                    "\" refused: must be earliest, so a new consumer group starts at the "
                    "oldest queued request and skips none");
    }
}

}  // namespace spillway::config
