// One exit-status policy for every binary (runtime/exit_status.hpp): a configuration that
// librdkafka refuses is a configuration error like any other, exit 2 with a message naming the
// key, from the proxy, the replay and the replay's --tail alike.

#include "support/ports.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace spillway::test {
namespace {

using json = nlohmann::json;

// Everything on loopback where nothing listens: each binary fails before it reaches the network.
json base_settings(const temp_dir& dir) {
    const std::string nowhere = "127.0.0.1:" + std::to_string(free_port());
    return {
        {"listen", "127.0.0.1:" + std::to_string(free_port())},
        {"threads", 1},
        {"backend", {{"url", "http://" + nowhere}}},
        {"kafka", {{"brokers", nowhere}, {"delivery_timeout_ms", 500}}},
        {"spool", {{"dir", (dir / "spool").string()}}},
        {"admin", {{"listen", "off"}}},
        {"log", {{"level", "warn"}}},
    };
}

std::string write_config(const temp_dir& dir, const json& kafka_properties) {
    auto cfg = base_settings(dir);
    cfg["kafka"]["properties"] = kafka_properties;
    const auto path = (dir / "spillway.json").string();
    std::ofstream(path) << cfg.dump(2);
    return path;
}

command_result run(const std::string& binary, std::vector<std::string> args) {
    return run_command({bin_path(binary), std::move(args), {}, binary}, 30s);
}

TEST(ExitStatus, AnUnknownKafkaPropertyExits2FromEveryBinaryNamingIt) {
    temp_dir dir;
    const auto path = write_config(dir, {{"no.such.property", "x"}});
    const std::vector<std::pair<std::string, std::vector<std::string>>> runs{
        {"spillway", {"--config", path}},
        {"spillway-replay", {"--config", path}},
        {"spillway-replay", {"--config", path, "--tail"}},
    };
    for (const auto& [binary, args] : runs) {
        SCOPED_TRACE(binary + (args.size() > 2 ? " " + args[2] : ""));
        const auto r = run(binary, args);
        EXPECT_EQ(r.exit_status, 2) << r.err;
        EXPECT_NE(r.err.find("configuration error: kafka.properties.no.such.property"),
                  std::string::npos)
            << r.err;
    }
}

TEST(ExitStatus, AKafkaPropertyCombinationLibrdkafkaRefusesExits2) {
    // Each value is valid alone; rd_kafka_new refuses the idempotent producer with more than
    // five requests in flight.
    temp_dir dir;
    const auto path = write_config(dir, {{"max.in.flight.requests.per.connection", "10"}});
    const auto r = run("spillway", {"--config", path});
    EXPECT_EQ(r.exit_status, 2) << r.err;
    EXPECT_NE(r.err.find("configuration error: kafka.properties"), std::string::npos) << r.err;
}

// kafka.properties that would void the promise (config/kafka_guard.hpp): refused by both daemons,
// with --check-config too, naming the key; nothing is started.
TEST(ExitStatus, EachPromiseBreakingKafkaPropertyExits2FromBothDaemonsNamingIt) {
    temp_dir dir;
    const std::vector<std::pair<std::string, std::string>> refused{
        {"acks", "0"},
        {"request.required.acks", "1"},
        {"enable.idempotence", "false"},
        {"message.timeout.ms", "0"},
        {"delivery.timeout.ms", "300000"},
        {"enable.auto.commit", "true"},
        {"enable.auto.offset.store", "true"},
        {"auto.offset.reset", "latest"},
    };
    for (const auto& [key, value] : refused) {
        const auto path = write_config(dir, {{key, value}});
        const std::vector<std::pair<std::string, std::vector<std::string>>> runs{
            {"spillway", {"--config", path, "--check-config"}},
            {"spillway-replay", {"--config", path, "--check-config"}},
            {"spillway", {"--config", path}},
            {"spillway-replay", {"--config", path}},
        };
        for (const auto& [binary, args] : runs) {
            SCOPED_TRACE(key + "=" + value + ": " + binary +
                         (args.size() > 2 ? " " + args[2] : ""));
            const auto r = run(binary, args);
            EXPECT_EQ(r.exit_status, 2) << r.err;
            // "configuration error: FILE: kafka.properties.KEY: ..."
            EXPECT_NE(r.err.find("configuration error: "), std::string::npos) << r.err;
            EXPECT_NE(r.err.find(": kafka.properties." + key + ": \"" + value + "\" refused: "),
                      std::string::npos)
                << r.err;
        }
    }
    // What keeps the promise passes the check.
    const auto path = write_config(dir, {{"acks", "all"}, {"enable.idempotence", "true"}});
    EXPECT_EQ(run("spillway", {"--config", path, "--check-config"}).exit_status, 0);
    EXPECT_EQ(run("spillway-replay", {"--config", path, "--check-config"}).exit_status, 0);
}

}  // namespace
}  // namespace spillway::test
