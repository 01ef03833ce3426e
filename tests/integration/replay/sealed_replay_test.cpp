// Sealed credentials end to end (docs/sealing.md): the proxy captures a request with
// Authorization, Proxy-Authorization and Cookie (and, with seal_body, its body) into the devbroker;
// the raw record, read by kcat and by our parser, holds none of them; the replay restores them
// byte-exact at the backend. A replay without the key dead-letters with a "seal:" reason; after a
// key rotation the old key in open_key_files still opens old messages.

#include "spillway/core/os_random.hpp"
#include "spillway/core/seal.hpp"

#include "replay_fixture.hpp"
#include "support/captures.hpp"
#include "support/http_client.hpp"
#include "support/proxy_fixture.hpp"

#include <fstream>

#include <sys/stat.h>

namespace spillway::test::replay {
namespace {

using json = nlohmann::json;

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    core::os_random_bytes(raw.data(), raw.size());
    std::string hex;
    for (unsigned char c : raw) {
        hex += "0123456789abcdef"[c >> 4];
        hex += "0123456789abcdef"[c & 15];
    }
    return hex;
}

class SealedReplay : public ReplayTest {
protected:
    // A fresh random key in the test's directory, mode 0600.
    std::string key_file(const std::string& name) {
        std::string key(32, '\0');
        core::os_random_bytes(key.data(), key.size());
        const auto path = (*dir_ / name).string();
        std::ofstream(path, std::ios::binary) << key;
        ::chmod(path.c_str(), 0600);
        return path;
    }

    static core::seal_key load(const std::string& path) {
        return std::get<core::seal_key>(core::load_seal_key(path));
    }

    // Captures `request` through a proxy whose backend is down; returns the request id.
    std::string capture_through_proxy(const json& capture, const std::string& request) {
        spillway_proxy proxy(
            {dead_backend_url(), broker_->bootstrap(), {}, {{"capture", capture}}});
        http_client client(proxy.port());
        const auto id = expect_captured(client.request(request));
        EXPECT_EQ(proxy.terminate(), 0);
        return id;
    }

    // The dead letters, once there are `n` (bounded).
    std::vector<json> wait_for_dead_letters(std::size_t n) {
        std::vector<json> dlq;
        EXPECT_TRUE(wait_until([&] { return (dlq = dead_letters()).size() >= n; }, 20s, 100ms));
        return dlq;
    }

    // An envelope sealed as the proxy seals it, with `auth` as its Authorization.
    static envelope::envelope sealed_envelope(const core::seal_key& key, const std::string& auth) {
        auto e = make_envelope();
        e.headers.emplace_back("Authorization", core::seal(key, e.id, "Authorization", auth));
        return e;
    }
};

TEST_F(SealedReplay, CredentialsAreAbsentFromTheRecordAndRestoredByteExactOnReplay) {
    const json capture = {{"seal_key_file", key_file("seal.key")}};
    const std::string auth = "Bearer tok-" + random_hex(16);
    const std::string proxy_auth = "Basic " + random_hex(12);
    const std::string cookie = "session=" + random_hex(16) + "; theme=dark";
    const std::string body = R"({"order":42})";
    const std::string request =
        "POST /api/orders?x=1 HTTP/1.1\r\n"
        "Host: shop.example\r\n"
        "Authorization: " +
        auth + "\r\nProxy-Authorization: " + proxy_auth + "\r\nCookie: " + cookie +
        "\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    const auto id = capture_through_proxy(capture, request);
    ASSERT_FALSE(id.empty());

    const auto records = read_records(broker_->bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    const auto& rec = records[0];
    for (const auto& secret : {auth.substr(7), proxy_auth.substr(6), cookie.substr(8, 32)}) {
        EXPECT_EQ(rec.message.value.find(secret), std::string::npos) << "the record holds a secret";
        EXPECT_EQ(rec.message.key.value_or("").find(secret), std::string::npos);
        for (const auto& [name, value] : rec.message.headers) {
            EXPECT_EQ(value.find(secret), std::string::npos) << name;
        }
    }
    expect_schema_valid(records);
    ASSERT_TRUE(rec.envelope) << rec.parse_error;
    EXPECT_EQ(rec.envelope->id, id);
    for (const auto& [name, value] : rec.envelope->headers) {
        if (name == "Authorization" || name == "Proxy-Authorization" || name == "Cookie") {
            EXPECT_TRUE(core::is_sealed(value)) << name << ": " << value;
        }
    }
    EXPECT_EQ(rec.envelope->body, body) << "the body is sealed only with seal_body";

    settings_.settings = {{"capture", capture}};
    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(1, 20s));
    const auto got = backend_->requests().at(0);
    EXPECT_NE(got.raw.find("\r\nAuthorization: " + auth + "\r\n"), std::string::npos) << got.raw;
    EXPECT_NE(got.raw.find("\r\nProxy-Authorization: " + proxy_auth + "\r\n"), std::string::npos);
    EXPECT_NE(got.raw.find("\r\nCookie: " + cookie + "\r\n"), std::string::npos);
    EXPECT_EQ(got.header("Idempotency-Key"), id);
    EXPECT_EQ(got.body, body);
}

TEST_F(SealedReplay, ASealedBodyIsAbsentFromTheRecordAndRestoredByteExact) {
    const json capture = {{"seal_key_file", key_file("seal.key")}, {"seal_body", true}};
    const std::string marker = "card-" + random_hex(16);
    std::string body = marker + std::string("\x00\x01\xff\r\n", 5);
    for (int i = 0; i < 20000; ++i) {
        body += static_cast<char>(i * 7919 % 256);
    }
    const std::string request =
        "PUT /api/cards/1 HTTP/1.1\r\nHost: shop.example\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    ASSERT_FALSE(capture_through_proxy(capture, request).empty());

    const auto records = read_records(broker_->bootstrap(), 1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].message.value.find(marker), std::string::npos);
    EXPECT_EQ(records[0].raw["body_encoding"], "sealed");
    EXPECT_TRUE(core::is_sealed(records[0].raw["body"].get<std::string>()));
    expect_schema_valid(records);

    settings_.settings = {{"capture", capture}};
    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(1, 20s));
    const auto got = backend_->requests().at(0);
    EXPECT_EQ(got.body.size(), body.size());
    EXPECT_TRUE(got.body == body) << "the body is restored byte for byte";
}

TEST_F(SealedReplay, AReplayWithoutTheKeyDeadLettersWithASealReason) {
    const auto sealing_key = load(key_file("proxy.key"));
    const std::string auth = "Bearer tok-" + random_hex(16);
    const auto e = sealed_envelope(sealing_key, auth);
    produce_envelopes(broker_->bootstrap(), "failed-requests", {e});

    settings_.settings = {{"capture", {{"seal_key_file", key_file("other.key")}}}};
    auto& replay = start_replay();
    const auto dlq = wait_for_dead_letters(1);
    ASSERT_EQ(dlq.size(), 1u);
    EXPECT_EQ(dlq[0]["id"], e.id);
    const auto reason = dlq[0]["dlq"]["reason"].get<std::string>();
    EXPECT_EQ(reason.rfind("seal: Authorization: unknown key id " + sealing_key.id(), 0), 0u)
        << reason;
    EXPECT_EQ(dlq[0].dump().find(auth.substr(7)), std::string::npos)
        << "the dead letter keeps the value sealed";
    for (const auto& r : backend_->requests()) {  // (a probe of the backend may come)
        EXPECT_NE(r.header("Idempotency-Key"), e.id) << "nothing is sent without its credentials";
    }
    EXPECT_EQ(replay.stop(), 0);
    EXPECT_EQ(replay.stderr_text().find(auth.substr(7)), std::string::npos);
}

TEST_F(SealedReplay, AfterARotationTheOldKeyInOpenKeyFilesOpensOldMessages) {
    const auto old_path = key_file("old.key");
    const auto new_path = key_file("new.key");
    const std::string old_auth = "Bearer old-" + random_hex(8);
    const std::string new_auth = "Bearer new-" + random_hex(8);
    const auto old_e = sealed_envelope(load(old_path), old_auth);
    const auto new_e = sealed_envelope(load(new_path), new_auth);
    produce_envelopes(broker_->bootstrap(), "failed-requests", {old_e, new_e});

    settings_.settings = {
        {"capture", {{"seal_key_file", new_path}, {"open_key_files", json::array({old_path})}}}};
    start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(2, 20s));
    std::map<std::string, std::string> auth_by_key;
    for (const auto& r : backend_->requests()) {
        auth_by_key[r.header("Idempotency-Key").value_or("")] =
            r.header("Authorization").value_or("");
    }
    EXPECT_EQ(auth_by_key[old_e.id], old_auth);
    EXPECT_EQ(auth_by_key[new_e.id], new_auth);
    EXPECT_TRUE(dead_letters().empty());
}

}  // namespace
}  // namespace spillway::test::replay
