#include "spillway/replay/group_consumer.hpp"

#include "spillway/runtime/logging.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace spillway::replay {

namespace {

std::vector<std::int32_t> partitions_of(const rd_kafka_topic_partition_list_t* parts) {
    std::vector<std::int32_t> out;
    for (int i = 0; i < parts->cnt; ++i) {
        out.push_back(parts->elems[i].partition);
    }
    return out;
}

}  // namespace

group_consumer::group_consumer(netx::executor ex, const config::config& cfg,
                               rebalance_handlers handlers)
    : topic_(cfg.kafka.topic), wakeup_(ex), wait_timer_(ex), handlers_(std::move(handlers)) {
    auto defaults = kafka::consumer_defaults(cfg.kafka, cfg.replay.group_id);
    defaults.emplace_back("enable.auto.commit", "true");
    defaults.emplace_back("auto.commit.interval.ms", "1000");
    // A replay killed -9 leaves its member in the group until this long without heartbeats has
    // passed; until then its partitions are nobody's and nothing is delivered, restarted replay
    // or not. librdkafka's default, 45 s, is tuned against needless rebalances of consumers that
    // pause for GC; ours heartbeats from librdkafka's own thread, so 10 s (Kafka's default until
    // 3.0, and above brokers' group.min.session.timeout.ms, 6 s) costs no spurious rebalances and
    // shortens that silence: found by the chaos checker, where four replay kills in a row left
    // the partitions unowned for minutes. kafka.properties can set it.
    defaults.emplace_back("session.timeout.ms", "10000");
    // The replay holds at most a backlog in memory; a deep prefetch only costs RSS.
    defaults.emplace_back("queued.max.messages.kbytes", "16384");
    auto conf = kafka::build_conf(cfg.kafka, defaults);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &group_consumer::on_rebalance);
    rk_ = kafka::make_client(RD_KAFKA_CONSUMER, std::move(conf));
    rd_kafka_poll_set_consumer(rk_.get());
    queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));

    if (::pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
        throw config::config_error(std::string("replay: pipe: ") + std::strerror(errno));
    }
    wakeup_.assign(pipe_[0]);
    static const char payload = 'k';
    rd_kafka_queue_io_event_enable(queue_.get(), pipe_[1], &payload, 1);

    kafka::partition_list_handle topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), topic_.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(rk_.get(), topics.get()); err) {
        throw config::config_error("kafka.topic: " + kafka::error_string(err));
    }
}

group_consumer::~group_consumer() {
    close();
    if (queue_) {
        rd_kafka_queue_io_event_enable(queue_.get(), -1, nullptr, 0);
    }
    queue_.reset();
    rk_.reset();
    boost::system::error_code ignored;
    wakeup_.close(ignored);  // closes pipe_[0]
    if (pipe_[1] >= 0) {
        ::close(pipe_[1]);
    }
}

void group_consumer::on_rebalance(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* parts, void* opaque) noexcept {
    try {
        static_cast<group_consumer*>(opaque)->rebalance(err, parts);
    } catch (const std::exception& e) {
        runtime::logger("replay")->error("rebalance: {}", e.what());
    }
}

void group_consumer::rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
    auto log = runtime::logger("replay");
    bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk_.get()), "COOPERATIVE") == 0;
    auto changed = partitions_of(parts);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log->info("assigned partitions {}", fmt::join(changed, ","));
        if (handlers_.assigned) {
            handlers_.assigned(changed);
        }
        if (cooperative) {
            kafka::error_handle e(rd_kafka_incremental_assign(rk_.get(), parts));
        } else {
            rd_kafka_assign(rk_.get(), parts);
            assigned_.clear();
        }
        assigned_.insert(assigned_.end(), changed.begin(), changed.end());
        if (paused_) {
            pause_list(parts, true);
        }
        return;
    }
    const bool lost = rd_kafka_assignment_lost(rk_.get()) != 0;
    log->info("{} partitions {}", lost ? "lost" : "revoked", fmt::join(changed, ","));
    // librdkafka keeps a partition's pause flag across revocation and re-assignment. A partition
    // that leaves us paused, while set_paused(false) later touches only the partitions we own,
    // would come back paused and never be fetched again: it leaves resumed. (Resuming here, not
    // on the next assignment, keeps resume requests away from partitions whose fetch is starting.)
    if (paused_) {
        pause_list(parts, false);
    }
    // What is finished of the revoked partitions is committed before another member takes them.
    // Lost partitions (our membership ended: session timeout, broker unreachable) may already be
    // another member's, and the coordinator refuses a commit from a member it no longer knows:
    // their finished messages are re-delivered (at least once, never skipped).
    if (!lost) {
        if (auto cerr = rd_kafka_commit(rk_.get(), nullptr, 0);
            cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            log->warn("commit on revoke: {}", kafka::error_string(cerr));
        }
    }
    if (handlers_.revoked) {
        handlers_.revoked(changed);
    }
    if (cooperative) {
        kafka::error_handle e(rd_kafka_incremental_unassign(rk_.get(), parts));
        std::erase_if(assigned_, [&](std::int32_t p) {
            return std::find(changed.begin(), changed.end(), p) != changed.end();
        });
    } else {
        rd_kafka_assign(rk_.get(), nullptr);
        assigned_.clear();
    }
}

std::optional<fetched_message> group_consumer::poll() {
    while (!closed_) {
        kafka::message_handle msg(rd_kafka_consumer_poll(rk_.get(), 0));
        if (!msg) {
            return std::nullopt;
        }
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                runtime::logger("replay")->warn("consumer: {}", rd_kafka_message_errstr(msg.get()));
            }
            continue;
        }
        fetched_message out;
        out.partition = msg->partition;
        out.offset = msg->offset;
        if (msg->key) {
            out.key.assign(static_cast<const char*>(msg->key), msg->key_len);
        }
        if (msg->payload) {
            out.value.assign(static_cast<const char*>(msg->payload), msg->len);
        }
        return out;
    }
    return std::nullopt;
}

netx::task<void> group_consumer::wait(std::chrono::milliseconds at_most) {
    using namespace net::experimental::awaitable_operators;
    wait_timer_.expires_after(at_most);
    co_await (wakeup_.async_wait(net::posix::descriptor_base::wait_read, netx::use_task) ||
              wait_timer_.async_wait(netx::use_task));
    // Drain the pipe: librdkafka writes again on the next empty -> non-empty transition.
    char sink[64];
    while (::read(pipe_[0], sink, sizeof sink) > 0) {
    }
}

void group_consumer::wake() {
    wait_timer_.cancel();
}

void group_consumer::store(std::int32_t partition, std::int64_t next_offset) {
    kafka::partition_list_handle list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), partition)->offset = next_offset;
    if (auto err = rd_kafka_offsets_store(rk_.get(), list.get()); err) {
        // The partition was revoked meanwhile: its new owner re-delivers the message.
        runtime::logger("replay")->debug("store {}@{}: {}", partition, next_offset,
                                         kafka::error_string(err));
    }
}

std::chrono::milliseconds group_consumer::max_poll_interval() const {
    char value[32];
    std::size_t size = sizeof value;
    if (rd_kafka_conf_get(rd_kafka_conf(rk_.get()), "max.poll.interval.ms", value, &size) ==
        RD_KAFKA_CONF_OK) {
        return std::chrono::milliseconds(std::strtoll(value, nullptr, 10));
    }
    return std::chrono::milliseconds(300000);  // librdkafka's default
}

void group_consumer::pause_list(rd_kafka_topic_partition_list_t* parts, bool paused) {
    auto err = paused ? rd_kafka_pause_partitions(rk_.get(), parts)
                      : rd_kafka_resume_partitions(rk_.get(), parts);
    if (err) {
        runtime::logger("replay")->warn("{}: {}", paused ? "pause" : "resume",
                                        kafka::error_string(err));
    }
}

void group_consumer::set_paused(bool paused) {
    if (paused == paused_ || closed_) {
        return;
    }
    paused_ = paused;
    kafka::partition_list_handle list(rd_kafka_topic_partition_list_new(
        static_cast<int>(std::max<std::size_t>(assigned_.size(), 1))));
    for (auto p : assigned_) {
        rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p);
    }
    if (list->cnt > 0) {
        pause_list(list.get(), paused);
    }
}

void group_consumer::commit_now() {
    if (closed_) {
        return;
    }
    if (auto err = rd_kafka_commit(rk_.get(), nullptr, 0);
        err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        runtime::logger("replay")->warn("commit: {}", kafka::error_string(err));
    }
}

void group_consumer::close() {
    if (closed_ || !rk_) {
        return;
    }
    commit_now();
    closed_ = true;
    if (auto err = rd_kafka_consumer_close(rk_.get()); err) {
        runtime::logger("replay")->warn("close: {}", kafka::error_string(err));
    }
}

}  // namespace spillway::replay
