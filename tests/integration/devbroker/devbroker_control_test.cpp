// spillway-devbroker with three brokers and its control listener, as Kafka clients (kcat,
// librdkafka) and a control client see it: brokers down and up, leaders moved, request errors
// pushed, round-trip times added (docs/devbroker.md, "Control").

#include "support/control_client.hpp"
#include "support/devbroker.hpp"
#include "support/kcat.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <fstream>
#include <memory>
#include <regex>
#include <vector>

namespace spillway::test {
namespace {

devbroker_options three_brokers() {
    devbroker_options options;
    options.brokers = 3;
    options.replication = 3;
    options.control = true;
    return options;
}

std::string metadata(const devbroker& broker) {
    process_options options;
    options.path = "kcat";
    options.args = {"-L", "-b", broker.bootstrap(), "-t", "failed-requests", "-m", "5"};
    auto result = run_command(options, 30s);
    if (result.exit_status != 0) {
        throw std::runtime_error("kcat -L: " + result.err);
    }
    return result.out;
}

// The leader kcat -L reports for a partition of failed-requests (-1 when none is shown).
int leader_of(const devbroker& broker, int partition) {
    const std::regex line("partition " + std::to_string(partition) + ", leader (-?[0-9]+),");
    std::smatch match;
    const auto text = metadata(broker);
    return std::regex_search(text, match, line) ? std::stoi(match[1]) : -1;
}

TEST(DevbrokerControl, ThreeBrokersWithReplicationThreeAppearInMetadata) {
    devbroker broker(three_brokers());
    ASSERT_EQ(broker.ports().size(), 3u);
    const auto text = metadata(broker);
    EXPECT_NE(text.find(" 3 brokers:"), std::string::npos) << text;
    for (int id = 1; id <= 3; ++id) {
        EXPECT_NE(text.find("broker " + std::to_string(id) +
                            " at 127.0.0.1:" + std::to_string(broker.port_of(id))),
                  std::string::npos)
            << text;
    }
    EXPECT_TRUE(std::regex_search(text, std::regex("partition 0, leader [123], replicas: "
                                                   "[123],[123],[123], isrs:")))
        << text;
    EXPECT_EQ(kcat::partitions(broker.bootstrap(), "failed-requests").size(), 3u);
    EXPECT_EQ(kcat::partitions(broker.bootstrap(), "failed-requests.dlq").size(), 1u);
}

TEST(DevbrokerControl, DownRefusesConnectsToThatBrokerOnlyAndUpRestoresIt) {
    devbroker broker(three_brokers());
    control_client control(broker.control_port());
    EXPECT_EQ(control.command("status"), "ok brokers=3 up=1,2,3 down=");

    EXPECT_EQ(control.command("down 1"), "ok");
    EXPECT_TRUE(wait_until([&] { return !port_accepts("127.0.0.1", broker.port_of(1)); }, 5s));
    EXPECT_TRUE(port_accepts("127.0.0.1", broker.port_of(2)));
    EXPECT_TRUE(port_accepts("127.0.0.1", broker.port_of(3)));
    EXPECT_EQ(control.command("status"), "ok brokers=3 up=2,3 down=1");
    EXPECT_TRUE(broker.proc().wait_for_output("control: broker 1 down"));

    EXPECT_EQ(control.command("up 1"), "ok");
    EXPECT_TRUE(wait_until([&] { return port_accepts("127.0.0.1", broker.port_of(1)); }, 5s));
    EXPECT_EQ(control.command("status"), "ok brokers=3 up=1,2,3 down=");
    EXPECT_TRUE(broker.proc().wait_for_output("control: broker 1 up"));

    EXPECT_EQ(control.command("down all"), "ok");
    EXPECT_EQ(control.command("status"), "ok brokers=3 up= down=1,2,3");
    EXPECT_EQ(control.command("up all"), "ok");
    kcat::produce(broker.bootstrap(), "failed-requests", "k", "after the outage");
    EXPECT_EQ(kcat::total_end_offset(broker.bootstrap(), "failed-requests"), 1);
}

TEST(DevbrokerControl, LeaderMovesAPartitionsLeaderAsMetadataShows) {
    devbroker broker(three_brokers());
    control_client control(broker.control_port());
    for (int target : {2, 3, 1}) {
        EXPECT_EQ(control.command("leader failed-requests 0 " + std::to_string(target)), "ok");
        EXPECT_EQ(leader_of(broker, 0), target);
    }
    EXPECT_TRUE(
        broker.proc().wait_for_output("control: leader of failed-requests [0] -> broker 1"));
    // The records stay readable wherever the leader went.
    kcat::produce(broker.bootstrap(), "failed-requests", "k", "v");
    EXPECT_EQ(kcat::total_end_offset(broker.bootstrap(), "failed-requests"), 1);
}

TEST(DevbrokerControl, PushedProduceErrorsAreRetriedByAnIdempotentProducerThatDelivers) {
    devbroker broker(three_brokers());
    control_client control(broker.control_port());
    EXPECT_EQ(control.command("error Produce NOT_ENOUGH_REPLICAS 3"), "ok");
    EXPECT_TRUE(broker.proc().wait_for_output(
        "control: next 3 Produce request(s) fail with NOT_ENOUGH_REPLICAS"));

    temp_dir dir("spillway-kcat");
    const auto file = dir / "records";
    std::ofstream(file) << "one\ntwo\nthree\nfour\nfive\n";
    process_options options;
    options.path = "kcat";
    options.args = {"-P",
                    "-b",
                    broker.bootstrap(),
                    "-t",
                    "failed-requests",
                    "-p",
                    "0",
                    "-X",
                    "enable.idempotence=true",
                    "-X",
                    "retry.backoff.ms=50",
                    "-d",
                    "msg",
                    "-l",
                    file.string()};
    auto result = run_command(options, 60s);
    EXPECT_EQ(result.exit_status, 0) << result.err;
    // The producer saw the broker's errors (its debug log names them) and retried.
    std::size_t seen = 0;
    for (auto at = result.err.find("Not enough in-sync replicas"); at != std::string::npos;
         at = result.err.find("Not enough in-sync replicas", at + 1)) {
        ++seen;
    }
    EXPECT_EQ(seen, 3u) << result.err;
    EXPECT_EQ(kcat::end_offsets(broker.bootstrap(), "failed-requests").at(0), 5);
}

struct rd_kafka_closer {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};

// A plain librdkafka producer to `bootstrap`, sending to partition 0 of failed-requests.
std::unique_ptr<rd_kafka_t, rd_kafka_closer> make_producer(const std::string& bootstrap) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        *static_cast<rd_kafka_resp_err_t*>(opaque) = m->err;
    });
    static rd_kafka_resp_err_t last_delivery = RD_KAFKA_RESP_ERR__BEGIN;
    rd_kafka_conf_set_opaque(conf, &last_delivery);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(err);
    }
    return std::unique_ptr<rd_kafka_t, rd_kafka_closer>(rk);
}

// Produces one record and waits for its delivery report; returns how long that took.
std::chrono::milliseconds timed_produce(rd_kafka_t* rk) {
    auto* delivery = static_cast<rd_kafka_resp_err_t*>(rd_kafka_opaque(rk));
    *delivery = RD_KAFKA_RESP_ERR__BEGIN;
    const auto start = std::chrono::steady_clock::now();
    const auto err =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("failed-requests"), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_VALUE(const_cast<char*>("timed"), 5),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    EXPECT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    EXPECT_EQ(rd_kafka_flush(rk, 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(*delivery, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(*delivery);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
}

TEST(DevbrokerControl, RttDelaysAProduceRoundTripToThatBroker) {
    devbroker broker(three_brokers());
    control_client control(broker.control_port());
    ASSERT_EQ(control.command("leader failed-requests 0 1"), "ok");
    auto producer = make_producer(broker.bootstrap());
    timed_produce(producer.get());  // connected, metadata known

    ASSERT_EQ(control.command("rtt 1 500"), "ok");
    // A lower bound only: how much longer a loaded machine takes is not the devbroker's doing.
    EXPECT_GE(timed_produce(producer.get()), 500ms);
    EXPECT_TRUE(broker.proc().wait_for_output("control: broker 1 rtt 500 ms"));
    EXPECT_EQ(control.command("rtt all 0"), "ok");
}

TEST(DevbrokerControl, BadCommandsAnswerErrorAndTheConnectionStaysUsable) {
    devbroker broker(three_brokers());
    control_client control(broker.control_port());
    control_client other(broker.control_port());  // several clients at once
    for (const auto* bad :
         {"bogus", "down 4", "down 0", "up", "leader nope 0 1", "leader failed-requests 9 1",
          "rtt 1 99999", "error Produce NOPE 1", "error Produce NOT_ENOUGH_REPLICAS 0",
          "clear Nothing", "coordinator group g 7", "", "status please"}) {
        const auto answer = control.command(bad);
        EXPECT_TRUE(answer.starts_with("error ")) << bad << " -> " << answer;
    }
    EXPECT_EQ(other.command("help"), "ok down up leader rtt error clear coordinator status help");
    EXPECT_EQ(control.command("status\r"), "ok brokers=3 up=1,2,3 down=");
    EXPECT_EQ(control.command("coordinator group spillway-replay 2"), "ok");
    EXPECT_EQ(control.command("error OffsetCommit NOT_COORDINATOR 2"), "ok");
    EXPECT_EQ(control.command("clear OffsetCommit"), "ok");

    // What a client can make the mock hold is bounded too: 100,000 pushed errors per API
    // between two clears (ApiKey 50: no client here sends it, so none are consumed).
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(control.command("error 50 NOT_ENOUGH_REPLICAS 10000"), "ok");
    }
    EXPECT_EQ(control.command("error 50 NOT_ENOUGH_REPLICAS 1"),
              "error at most 100000 errors for ApiKey 50 until clear ApiKey 50 (100000 pushed)");
    EXPECT_EQ(control.command("clear 50"), "ok");
    EXPECT_EQ(control.command("error 50 NOT_ENOUGH_REPLICAS 1"), "ok");

    // Many commands in one write: one answer each, in order.
    other.send_raw("status\nbogus\nhelp\n");
    EXPECT_EQ(other.read_line(), "ok brokers=3 up=1,2,3 down=");
    EXPECT_TRUE(other.read_line().value_or("").starts_with("error unknown command"));
    EXPECT_TRUE(other.read_line().value_or("").starts_with("ok down"));

    // A line over 1024 bytes closes that connection (after saying why), not the others.
    control.send_raw(std::string(2000, 'x'));
    EXPECT_EQ(control.read_line(), "error line longer than 1024 bytes: closing");
    EXPECT_EQ(control.read_line(), std::nullopt);
    EXPECT_EQ(other.command("status"), "ok brokers=3 up=1,2,3 down=");
}

TEST(DevbrokerControl, ClientsBeyondSixteenAreToldWhyAndClosedWhileTheOthersWork) {
    devbroker broker(three_brokers());
    std::vector<std::unique_ptr<control_client>> clients;
    for (int i = 0; i < 16; ++i) {
        clients.push_back(std::make_unique<control_client>(broker.control_port()));
        ASSERT_EQ(clients.back()->command("help").substr(0, 2), "ok");
    }
    control_client extra(broker.control_port());
    EXPECT_EQ(extra.read_line(), "error too many control connections (at most 16)");
    EXPECT_EQ(extra.read_line(), std::nullopt);
    EXPECT_EQ(clients.front()->command("status"), "ok brokers=3 up=1,2,3 down=");
    clients.pop_back();  // a slot frees up once the listener sees the close
    EXPECT_TRUE(wait_until(
        [&] {
            control_client again(broker.control_port());
            return again.command("status").starts_with("ok");
        },
        5s, 50ms));
}

TEST(DevbrokerControl, SignalsTakeEveryBrokerDownAndBringThemBack) {
    devbroker broker(three_brokers());
    control_client control(broker.control_port());
    ASSERT_TRUE(broker.down());
    EXPECT_TRUE(broker.proc().wait_for_output("all brokers down (SIGUSR1)"));
    EXPECT_EQ(control.command("status"), "ok brokers=3 up= down=1,2,3");
    ASSERT_TRUE(broker.up());
    EXPECT_TRUE(broker.proc().wait_for_output("all brokers up (SIGUSR2)"));
    EXPECT_EQ(control.command("status"), "ok brokers=3 up=1,2,3 down=");
    kcat::produce(broker.bootstrap(), "failed-requests", "k", "after");
    EXPECT_EQ(kcat::total_end_offset(broker.bootstrap(), "failed-requests"), 1);
}

TEST(DevbrokerControl, AFixedPortWithThreeBrokersBindsThreeConsecutivePorts) {
    // free_port() vouches for one port; the next two are usually free too, else try again.
    for (int attempt = 0; attempt < 5; ++attempt) {
        const auto port = free_port();
        auto options = three_brokers();
        options.extra_args = {"--port", std::to_string(port)};
        std::unique_ptr<devbroker> broker;
        try {
            broker = std::make_unique<devbroker>(options);
        } catch (const std::runtime_error& e) {
            ASSERT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
            continue;
        }
        const auto p = [&](int i) { return "127.0.0.1:" + std::to_string(port + i); };
        EXPECT_EQ(broker->bootstrap(), p(0) + "," + p(1) + "," + p(2));
        kcat::produce(broker->bootstrap(), "failed-requests", "k", "v");
        EXPECT_EQ(kcat::total_end_offset(broker->bootstrap(), "failed-requests"), 1);
        return;
    }
    FAIL() << "no three consecutive free ports in five attempts";
}

TEST(DevbrokerControl, BadClusterFlagsExitWithStatus2) {
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"--brokers", "0"},
                                               {"--brokers", "10"},
                                               {"--brokers", "3", "--replication", "4"},
                                               {"--replication", "0"},
                                               {"--control-port", "70000"}}) {
        process_options options;
        options.path = bin_path("spillway-devbroker");
        options.args = args;
        auto result = run_command(options, 10s);
        EXPECT_EQ(result.exit_status, 2) << args[0] << " " << args[1];
        EXPECT_NE(result.err.find(args[args.size() - 2]), std::string::npos) << result.err;
    }
}

}  // namespace
}  // namespace spillway::test
