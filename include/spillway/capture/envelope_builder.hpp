#pragma once
// Turns a failed client request into its envelope and Kafka record (DESIGN.md "The envelope").
// Only what the client sent goes in: the parsed request is never modified by the proxy, so no
// X-Forwarded-* or generated X-Request-Id can leak into it.

#include "spillway/config/config.hpp"
#include "spillway/envelope/envelope.hpp"
#include "spillway/kafka/producer.hpp"
#include "spillway/proxy/message_heads.hpp"
#include "spillway/proxy/request_record.hpp"

#include <string_view>

namespace spillway::capture {

envelope::envelope build_envelope(const proxy::client_request& req, const core::failure& failure,
                                  const proxy::request_record& record,
                                  const config::capture_config& cfg, std::string_view upstream);

// The Kafka record for an envelope: value = the JSON, key per kafka.key (id, client_ip or
// header:<Name>, falling back to the id when that header is absent), headers spillway-id and
// spillway-failure.
kafka::record make_record(const envelope::envelope& e, const proxy::client_request& req,
                          const config::kafka_config& cfg);

}  // namespace spillway::capture
