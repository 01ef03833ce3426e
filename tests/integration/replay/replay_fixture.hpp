#pragma once
// What every replay integration test needs: a devbroker, a fake backend, a configuration
// file, the spillway-replay binary started and stopped by pid, envelopes produced with the
// library's producer (acked before the test goes on), and the group's committed offsets read back.

#include "spillway/envelope/envelope.hpp"

#include "support/devbroker.hpp"
#include "support/fake_backend.hpp"
#include "support/kcat.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spillway::test::replay {

using namespace std::chrono_literals;

// A valid version-1 envelope with a fresh id.
envelope::envelope make_envelope(std::string uri = "/api/users", std::string body = "{\"n\":1}");

// Produces (key, value) records to `topic` and waits until the broker acknowledged all of them.
void produce(const std::string& bootstrap, const std::string& topic,
             const std::vector<std::pair<std::string, std::string>>& records);
void produce_envelopes(const std::string& bootstrap, const std::string& topic,
                       const std::vector<envelope::envelope>& envelopes);

// The committed offsets of `group` on `topic`: partition -> offset (absent when none).
std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& bootstrap,
                                                       const std::string& group,
                                                       const std::string& topic);

// The probe path of every replay a ReplayTest starts: the fake backend answers it by its route
// only (no script), and keeps it out of requests().
inline constexpr const char* probe_path = "/spillway-probe";

struct replay_settings {
    unsigned concurrency = 16;
    unsigned max_attempts = 10;
    int partitions = 3;
    bool dedupe = false;
    double rate_limit = 0;
    std::string log_level = "info";
    unsigned backoff_initial_ms = 20;
    unsigned backoff_max_ms = 200;
    std::vector<std::pair<std::string, std::string>> env;  // for the replay process
    nlohmann::json settings;  // merged (RFC 7386) over the configuration, e.g. capture keys
};

// Every record of `topic`, read with Spillway's own librdkafka wrappers (kcat is the other
// witness): partition 0..n, from the beginning to the end offsets.
std::vector<std::string> read_topic(const std::string& bootstrap, const std::string& topic);

class ReplayTest : public ::testing::Test {
protected:
    void SetUp() override { start_environment({}); }

    // Replaces the broker and backend (call at the start of a test that needs other settings).
    void start_environment(replay_settings settings);

    // Writes the configuration and starts spillway-replay; waits until it has its partitions.
    // Each process gets an admin listener on a port of its own (admin_port_: the last one's).
    process& start_replay(std::vector<std::string> extra_args = {}, bool wait_assigned = true);

    // The dead letters, parsed.
    std::vector<nlohmann::json> dead_letters();

    std::string config_path();

    replay_settings settings_;
    std::unique_ptr<devbroker> broker_;
    std::unique_ptr<fake_backend> backend_;
    std::unique_ptr<temp_dir> dir_;
    std::vector<process> replays_;
    std::uint16_t admin_port_ = 0;
};

}  // namespace spillway::test::replay
