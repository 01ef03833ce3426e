// The replay to an https:// backend (backend.tls): delivered byte for byte over one verified,
// pooled TLS connection; a backend whose certificate cannot be trusted is down for the replay
// (a connect failure: nothing is sent, nothing is counted against the messages or dead-lettered).

#include "replay_fixture.hpp"
#include "support/test_ca.hpp"

#include <chrono>
#include <thread>

namespace spillway::test::replay {
namespace {

class ReplayHttps : public ReplayTest {
protected:
    // The fixture's backend, replaced by one speaking HTTPS with a certificate of ca_; the
    // configuration trusts `trusted_ca`.
    void use_https_backend(const std::filesystem::path& trusted_ca, unsigned concurrency = 1) {
        replay_settings s;
        s.concurrency = concurrency;
        s.partitions = 1;
        s.settings = {{"backend", {{"tls", {{"ca_file", trusted_ca.string()}}}}}};
        start_environment(s);
        backend_ = std::make_unique<fake_backend>(tls_identity{cert_.cert_file, cert_.key_file});
        backend_->set_probe_path(probe_path);
    }

    test_ca ca_;
    issued_certificate cert_ = ca_.issue("backend");
};

TEST_F(ReplayHttps, DeliversByteExactOverOneVerifiedPooledConnection) {
    use_https_backend(ca_.ca_file());
    auto first = make_envelope("/api/users?x=1", "{\"n\":1}");
    auto second = make_envelope("/api/users/2", std::string("\x00\xff binary", 9));
    produce_envelopes(broker_->bootstrap(), "failed-requests", {first, second});
    auto& replay = start_replay();
    ASSERT_TRUE(backend_->wait_for_requests(2, 20s));
    const auto got = backend_->requests();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].target, "/api/users?x=1");
    EXPECT_EQ(got[0].body, first.body);
    EXPECT_EQ(got[0].header("Idempotency-Key"), first.id);
    EXPECT_EQ(got[1].target, "/api/users/2");
    EXPECT_EQ(got[1].body, second.body);
    EXPECT_EQ(got[0].connection, got[1].connection) << "the TLS connection was reused";
    EXPECT_EQ(backend_->tls_handshake_failures(), 0u);
    EXPECT_EQ(replay.stop(), 0);
    EXPECT_TRUE(dead_letters().empty());
}

TEST_F(ReplayHttps, AnUntrustedCertificateIsAnOutageAndNothingIsSent) {
    test_ca other("Some Other CA");
    use_https_backend(other.ca_file());
    produce_envelopes(broker_->bootstrap(), "failed-requests", {make_envelope()});
    auto& replay = start_replay();
    EXPECT_TRUE(replay.wait_for_output("TLS handshake failed", 20s));
    EXPECT_TRUE(replay.wait_for_output("certificate rejected", 5s));
    EXPECT_EQ(backend_->request_count(), 0u);
    // The backend counts the handshake the replay gave up on its own thread.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (backend_->tls_handshake_failures() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_GE(backend_->tls_handshake_failures(), 1u);
    EXPECT_EQ(replay.stop(), 0);
    EXPECT_TRUE(dead_letters().empty()) << "a backend that cannot be reached dead-letters nothing";
}

}  // namespace
}  // namespace spillway::test::replay
