#include "spillway/config/kafka_guard.hpp"

#include "spillway/config/object_reader.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <string_view>
#include <vector>

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

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool has_feature(std::string_view features, std::string_view wanted) {
    std::size_t start = 0;
    while (start <= features.size()) {
        const auto end = std::min(features.find(',', start), features.size());
        if (features.substr(start, end - start) == wanted) {
            return true;
        }
        start = end + 1;
    }
    return false;
}

// The feature one SASL mechanism needs ("" when librdkafka has none of that name).
std::string_view feature_of_mechanism(std::string_view mechanism) {
    if (mechanism.rfind("SCRAM-SHA-", 0) == 0) {
        return "sasl_scram";
    }
    if (mechanism == "GSSAPI") {
        return "sasl_gssapi";
    }
    if (mechanism == "OAUTHBEARER") {
        return "sasl_oauthbearer";
    }
    if (mechanism == "PLAIN") {
        return "sasl_plain";
    }
    return {};
}

// (key, value, feature) for every property that needs a feature, in a fixed order.
std::vector<std::array<std::string, 3>> needed_features(
    const std::map<std::string, std::string>& properties) {
    std::vector<std::array<std::string, 3>> needed;
    if (const auto it = properties.find("security.protocol"); it != properties.end()) {
        const auto protocol = lower(it->second);
        if (protocol == "ssl" || protocol == "sasl_ssl") {
            needed.push_back({it->first, it->second, "ssl"});
        }
        if (protocol == "sasl_plaintext" || protocol == "sasl_ssl") {
            needed.push_back({it->first, it->second, "sasl"});
        }
    }
    for (const char* key : {"sasl.mechanisms", "sasl.mechanism"}) {
        if (const auto it = properties.find(key); it != properties.end()) {
            const auto feature = feature_of_mechanism(it->second);
            if (!feature.empty()) {
                needed.push_back({it->first, it->second, std::string(feature)});
            }
        }
    }
    for (const char* key : {"compression.codec", "compression.type"}) {
        if (const auto it = properties.find(key); it != properties.end()) {
            const auto codec = lower(it->second);
            if (codec == "zstd" || codec == "lz4" || codec == "snappy" || codec == "gzip") {
                needed.push_back({it->first, it->second, codec});
            }
        }
    }
    return needed;
}

}  // namespace

std::optional<std::string> missing_kafka_feature(
    const std::map<std::string, std::string>& properties, std::string_view builtin_features) {
    for (const auto& [key, value, feature] : needed_features(properties)) {
        if (!has_feature(builtin_features, feature)) {
            return "kafka.properties." + key + ": \"" + value + "\" needs librdkafka's \"" +
                   feature + "\" feature, which this librdkafka was built without (its " +
                   "builtin.features: " + std::string(builtin_features) + ")";
        }
    }
    return std::nullopt;
}

void check_kafka_features(const std::map<std::string, std::string>& properties) {
    std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(rd_kafka_conf_new(),
                                                                            rd_kafka_conf_destroy);
    char features[512] = {};
    std::size_t size = sizeof(features);
    if (rd_kafka_conf_get(conf.get(), "builtin.features", features, &size) != RD_KAFKA_CONF_OK) {
        return;  // an old librdkafka that cannot say: it will refuse what it lacks itself
    }
    if (auto missing = missing_kafka_feature(properties, features)) {
        throw config_error(*missing);
    }
}

}  // namespace spillway::config
