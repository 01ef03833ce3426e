#pragma once
// What kafka.properties may not change, and what it needs of librdkafka's build (DESIGN.md
// "Configuration"): the settings a "queued" answer and the replay's at-least-once rest on.
// Everything else passes to librdkafka as is.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace spillway::config {

// Throws config_error naming the key ("kafka.properties.acks: ...") when `properties` would void
// the promise: acks/request.required.acks other than all or -1, enable.idempotence other than
// true, message.timeout.ms or delivery.timeout.ms at all (kafka.delivery_timeout_ms sets them),
// and for the consumer enable.auto.commit or enable.auto.offset.store other than false, or
// auto.offset.reset other than earliest. Both daemons read one file, so both refuse all of them.
void check_kafka_properties(const std::map<std::string, std::string>& properties);

// The librdkafka build features (its builtin.features) that `properties` need: security.protocol
// ssl or sasl_ssl needs "ssl"; sasl.mechanism(s) SCRAM-SHA-* "sasl_scram", GSSAPI "sasl_gssapi",
// OAUTHBEARER "sasl_oauthbearer", PLAIN "sasl_plain"; compression.codec/compression.type zstd,
// lz4, snappy, gzip the codec's own. Returns "kafka.properties.<key>: ..." for the first missing
// one, or nullopt. Pure: the tests pass any feature list.
std::optional<std::string> missing_kafka_feature(
    const std::map<std::string, std::string>& properties, std::string_view builtin_features);

// The same against the librdkafka this binary runs with; throws config_error naming the key.
void check_kafka_features(const std::map<std::string, std::string>& properties);

}  // namespace spillway::config
