#include "spillway/devbroker/mock_cluster.hpp"

#include "spillway/runtime/logging.hpp"

#include <stdexcept>

namespace spillway::devbroker {

namespace {

std::string broker_text(std::int32_t broker) {
    return broker == all_brokers ? "all brokers" : "broker " + std::to_string(broker);
}

// What follows a change in its log line: nothing when it took, else why not.
std::string outcome(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : std::string(": ") + rd_kafka_err2str(err);
}

std::string answer(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? "ok" : std::string("error ") + rd_kafka_err2str(err);
}

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

}  // namespace

mock_cluster::mock_cluster(cluster_shape shape, int replication)
    : shape_(std::move(shape)), up_(static_cast<std::size_t>(shape_.brokers), true) {
    kafka::conf_handle conf(rd_kafka_conf_new());
    kafka::forward_logs(conf.get());
    // Without bootstrap.servers the host handle warns at notice level; the mock's own warnings
    // and errors still come through.
    rd_kafka_conf_set(conf.get(), "log_level", "4", nullptr, 0);
    host_ = kafka::make_client(RD_KAFKA_PRODUCER, std::move(conf));
    cluster_.reset(rd_kafka_mock_cluster_new(host_.get(), shape_.brokers));
    if (!cluster_) {
        throw std::runtime_error("cannot start the mock cluster");
    }
    auto log = runtime::logger("devbroker");
    for (const auto& topic : shape_.topics) {
        auto err = rd_kafka_mock_topic_create(cluster_.get(), topic.name.c_str(), topic.partitions,
                                              replication);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            throw std::runtime_error("cannot create topic " + topic.name + ": " +
                                     rd_kafka_err2str(err));
        }
        log->info("topic {} ({} partitions, replication {})", topic.name, topic.partitions,
                  replication);
    }
}

mock_cluster::~mock_cluster() = default;

std::string mock_cluster::bootstraps() const {
    return rd_kafka_mock_cluster_bootstraps(cluster_.get());
}

void mock_cluster::set_all(bool up, std::string_view why) {
    set_state(all_brokers, up, why);
}

std::string mock_cluster::set_state(std::int32_t broker, bool up, std::string_view why) {
    std::lock_guard lock(mutex_);
    auto err = up ? rd_kafka_mock_broker_set_up(cluster_.get(), broker)
                  : rd_kafka_mock_broker_set_down(cluster_.get(), broker);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (std::size_t i = 0; i < up_.size(); ++i) {
            if (broker == all_brokers || static_cast<std::int32_t>(i) + 1 == broker) {
                up_[i] = up;
            }
        }
    }
    // SIGUSR1 has always logged "broker 1 down"; with one broker, "all" is broker 1.
    const auto target = shape_.brokers == 1 ? broker_text(1) : broker_text(broker);
    const auto* state = up ? "up" : "down";
    if (why == "control") {
        runtime::logger("devbroker")->warn("control: {} {}{}", target, state, outcome(err));
    } else {
        runtime::logger("devbroker")->warn("{} {} ({}){}", target, state, why, outcome(err));
    }
    return answer(err);
}

std::string mock_cluster::status() const {
    std::lock_guard lock(mutex_);
    std::string up_list;
    std::string down_list;
    for (std::size_t i = 0; i < up_.size(); ++i) {
        auto& list = up_[i] ? up_list : down_list;
        list += (list.empty() ? "" : ",") + std::to_string(i + 1);
    }
    return "ok brokers=" + std::to_string(shape_.brokers) + " up=" + up_list + " down=" + down_list;
}

std::string mock_cluster::execute(const control_command& command) {
    auto log = runtime::logger("devbroker");
    rd_kafka_mock_cluster_t* cluster = cluster_.get();
    return std::visit(
        overloaded{
            [&](const set_broker_state& c) { return set_state(c.broker, c.up, "control"); },
            [&](const move_leader& c) {
                std::lock_guard lock(mutex_);
                auto err = rd_kafka_mock_partition_set_leader(cluster, c.topic.c_str(), c.partition,
                                                              c.broker);
                log->warn("control: leader of {} [{}] -> broker {}{}", c.topic, c.partition,
                          c.broker, outcome(err));
                return answer(err);
            },
            [&](const set_rtt& c) {
                std::lock_guard lock(mutex_);
                auto err = rd_kafka_mock_broker_set_rtt(cluster, c.broker, c.rtt_ms);
                log->warn("control: {} rtt {} ms{}", broker_text(c.broker), c.rtt_ms, outcome(err));
                return answer(err);
            },
            [&](const push_errors& c) {
                std::lock_guard lock(mutex_);
                auto& pending = pending_errors_[c.api_key];
                if (pending + c.count > max_pending_errors) {
                    return "error at most " + std::to_string(max_pending_errors) + " errors for " +
                           api_name(c.api_key) + " until clear " + api_name(c.api_key) + " (" +
                           std::to_string(pending) + " pushed)";
                }
                pending += c.count;
                const std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(c.count),
                                                              c.code);
                rd_kafka_mock_push_request_errors_array(cluster, c.api_key, errors.size(),
                                                        errors.data());
                log->warn("control: next {} {} request(s) fail with {}", c.count,
                          api_name(c.api_key), error_name(c.code));
                return std::string("ok");
            },
            [&](const clear_errors& c) {
                std::lock_guard lock(mutex_);
                pending_errors_.erase(c.api_key);
                rd_kafka_mock_clear_request_errors(cluster, c.api_key);
                log->warn("control: pushed {} errors cleared", api_name(c.api_key));
                return std::string("ok");
            },
            [&](const move_coordinator& c) {
                std::lock_guard lock(mutex_);
                auto err =
                    rd_kafka_mock_coordinator_set(cluster, "group", c.group.c_str(), c.broker);
                log->warn("control: coordinator of group {} -> broker {}{}", c.group, c.broker,
                          outcome(err));
                return answer(err);
            },
            [&](const show_status&) { return status(); },
            [&](const show_help&) { return help_answer(); },
        },
        command);
}

}  // namespace spillway::devbroker
