#pragma once
// What kafka.properties may not change (DESIGN.md "Configuration"): the settings a "queued"
// answer and the replay's at-least-once rest on. Everything else passes to librdkafka as is.

#include <map>
#include <string>

namespace spillway::config {

// Throws config_error naming the key ("kafka.properties.acks: ...") when `properties` would void
// the promise: acks/request.required.acks other than all or -1, enable.idempotence other than
// true, message.timeout.ms or delivery.timeout.ms at all (kafka.delivery_timeout_ms sets them),
// and for the consumer enable.auto.commit or enable.auto.offset.store other than false, or
// auto.offset.reset other than earliest. Both daemons read one file, so both refuse all of them.
void check_kafka_properties(const std::map<std::string, std::string>& properties);

}  // namespace spillway::config
