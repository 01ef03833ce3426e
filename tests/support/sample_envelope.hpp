#pragma once
// One captured request as the replay's tests use it: a JSON POST that failed to connect.

#include "spillway/envelope/envelope.hpp"

namespace spillway::test {

inline envelope::envelope sample_envelope() {
    envelope::envelope e;
    e.id = "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11";
    e.received_at = "2026-11-26T18:00:00.123Z";
    e.method = "POST";
    e.uri = "/api/users?x=1";
    e.http_version = "1.1";
    e.headers = {{"Host", "localhost:8080"}, {"Content-Type", "application/json"}};
    e.body = "{\"name\":\"John\"}";
    e.client_ip = "127.0.0.1";
    e.upstream = "127.0.0.1:3000";
    e.failure.kind = core::failure_kind::connect_error;
    e.failure.detail = "Connection refused";
    return e;
}

}  // namespace spillway::test
