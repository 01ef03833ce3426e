#include "spillway/kafka/producer.hpp"

#include "spillway/kafka/handles.hpp"
#include "spillway/runtime/logging.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace spillway::kafka {

namespace {

using clock = std::chrono::steady_clock;

// Whether a librdkafka statistics document shows a broker connection that is up.
bool any_broker_up(std::string_view stats_json) {
    auto doc = nlohmann::json::parse(stats_json, nullptr, false);
    if (doc.is_discarded() || !doc.contains("brokers") || !doc["brokers"].is_object()) {
        return false;
    }
    for (const auto& [name, broker] : doc["brokers"].items()) {
        if (broker.is_object() && broker.value("state", "") == "UP") {
            return true;
        }
    }
    return false;
}

class rdkafka_producer final : public producer {
public:
    explicit rdkafka_producer(const config::kafka_config& cfg);
    ~rdkafka_producer() override;

    boost::system::error_code produce(
        const record& r, std::unique_ptr<delivery_callback> callback) noexcept override;
    void close(std::chrono::milliseconds timeout) noexcept override;
    bool connected() const noexcept override { return connected_.load(std::memory_order_relaxed); }
    int take_over_reports() override;
    void serve_reports() noexcept override;
    void give_back_reports() noexcept override;
    const delivery_latency* latency() const noexcept override { return &latency_; }
    std::optional<std::string> fatal_error() const override;
    void set_on_fatal(std::function<void(const std::string&)> listener) override;
    void raise_fatal_error_for_test(const std::string& reason) override;

private:
    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque) noexcept;
    static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept;
    static int on_stats(rd_kafka_t* rk, char* json, std::size_t len, void* opaque) noexcept;

    void deliver(const rd_kafka_message_t& msg) noexcept;
    void on_fatal(const std::string& reason);
    void poll_loop() noexcept;
    void start_poll_thread();
    void stop_poll_thread() noexcept;
    // Serves delivery reports on the calling thread until none is outstanding or `until`.
    void drain_reports(clock::time_point until) noexcept;

    std::shared_ptr<spdlog::logger> log_ = runtime::logger("kafka");
    kafka_handle rk_;
    std::thread poll_thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::int64_t> outstanding_{0};
    std::atomic<bool> connected_{false};
    delivery_latency latency_;  // observed where reports are served
    // produce() holds it shared, close() exclusively to set closed_: once close() has begun no
    // record can slip in behind the purge and miss its callback.
    std::shared_mutex produce_mutex_;
    bool closed_ = false;
    std::mutex close_mutex_;  // serialises close() calls: the second one returns when all is done
    // Who serves reports: the poll thread, or (while taken over) whoever watches report_pipe_[0].
    std::mutex serving_mutex_;
    int report_pipe_[2] = {-1, -1};
    mutable std::mutex fatal_mutex_;
    std::optional<std::string> fatal_;  // librdkafka's reason, once it had a fatal error
    std::function<void(const std::string&)> on_fatal_;
};

rdkafka_producer::rdkafka_producer(const config::kafka_config& cfg) {
    auto conf = build_conf(cfg, producer_defaults(cfg));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
    rd_kafka_conf_set_error_cb(conf.get(), on_error);
    rd_kafka_conf_set_stats_cb(conf.get(), on_stats);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rk_ = make_client(RD_KAFKA_PRODUCER, std::move(conf));
    start_poll_thread();
    // Read back from librdkafka, not assumed: what the guard (config/kafka_guard.hpp) let through.
    log_->info("producer {} for {} ({})", rd_kafka_name(rk_.get()), cfg.brokers,
               describe_settings(rk_.get(), {"acks", "enable.idempotence", "message.timeout.ms",
                                             "message.max.bytes"}));
}

rdkafka_producer::~rdkafka_producer() {
    // Whoever wanted records confirmed called close() with a timeout; here they fail at once.
    close(std::chrono::milliseconds(0));
    if (report_pipe_[1] >= 0) {
        // librdkafka must not write to the descriptor number once it is closed (and reused).
        queue_handle main_queue(rd_kafka_queue_get_main(rk_.get()));
        rd_kafka_queue_io_event_enable(main_queue.get(), -1, nullptr, 0);
    }
    for (int fd : report_pipe_) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

int rdkafka_producer::take_over_reports() {
    std::lock_guard lock(serving_mutex_);
    if (report_pipe_[0] < 0 && ::pipe2(report_pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
        report_pipe_[0] = report_pipe_[1] = -1;
        return -1;
    }
    stop_poll_thread();
    // librdkafka writes a byte when its report queue goes from empty to non-empty; reports that
    // are already waiting get a byte of our own, so the new server looks at once.
    queue_handle main_queue(rd_kafka_queue_get_main(rk_.get()));
    rd_kafka_queue_io_event_enable(main_queue.get(), report_pipe_[1], "r", 1);
    [[maybe_unused]] auto n = ::write(report_pipe_[1], "r", 1);
    return report_pipe_[0];
}

void rdkafka_producer::serve_reports() noexcept {
    // Empty the pipe first: a report queued after this point writes a new byte (the queue was
    // empty once we had served it), so none can be left waiting without a wake-up.
    char sink[64];
    while (::read(report_pipe_[0], sink, sizeof sink) > 0) {
    }
    while (rd_kafka_poll(rk_.get(), 0) > 0) {
    }
}

void rdkafka_producer::give_back_reports() noexcept {
    std::lock_guard lock(serving_mutex_);
    if (poll_thread_.joinable() || report_pipe_[0] < 0) {
        return;
    }
    {
        // After close() nothing is left to serve, and no thread may outlive the handle.
        std::shared_lock closing(produce_mutex_);
        if (closed_) {
            return;
        }
    }
    queue_handle main_queue(rd_kafka_queue_get_main(rk_.get()));
    rd_kafka_queue_io_event_enable(main_queue.get(), -1, nullptr, 0);
    try {
        start_poll_thread();
    } catch (const std::system_error& e) {
        // No thread: close() still serves what is waiting, but nothing does until then.
        log_->critical("cannot restart the delivery report thread: {}", e.what());
    }
}

boost::system::error_code rdkafka_producer::produce(
    const record& r, std::unique_ptr<delivery_callback> callback) noexcept {
    std::shared_lock lock(produce_mutex_);
    if (closed_) {
        return errc::destroy;
    }
    headers_handle headers;
    if (!r.headers.empty()) {
        headers.reset(rd_kafka_headers_new(r.headers.size()));
        for (const auto& [name, value] : r.headers) {
            rd_kafka_header_add(headers.get(), name.data(), static_cast<ssize_t>(name.size()),
                                value.data(), static_cast<ssize_t>(value.size()));
        }
    }
    // Copied into the message's own allocation (one malloc, no ownership to track): the
    // alternative, keeping the record alive beside the callback until its report, costs an
    // allocation of its own and saves only a memcpy of a few kilobytes.
    rd_kafka_vu_t vus[6];
    std::size_t n = 0;
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[n++].u.cstr = r.topic.c_str();
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n].u.mem.ptr = const_cast<char*>(r.value.data());  // read only: F_COPY
    vus[n++].u.mem.size = r.value.size();
    if (!r.key.empty()) {
        vus[n].vtype = RD_KAFKA_VTYPE_KEY;
        vus[n].u.mem.ptr = const_cast<char*>(r.key.data());
        vus[n++].u.mem.size = r.key.size();
    }
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vus[n++].u.ptr = callback.get();
    if (headers) {
        vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
        vus[n++].u.headers = headers.get();
    }
    // Counted before the call: the report can arrive before rd_kafka_produceva returns.
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    error_handle error(rd_kafka_produceva(rk_.get(), vus, n));
    if (error) {
        outstanding_.fetch_sub(1, std::memory_order_relaxed);
        return make_error_code(rd_kafka_error_code(error.get()));
    }
    (void)headers.release();  // librdkafka owns them now
    (void)callback.release();  // on_delivery deletes it
    return {};
}

void rdkafka_producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg,
                                   void* opaque) noexcept {
    static_cast<rdkafka_producer*>(opaque)->deliver(*msg);
}

void rdkafka_producer::deliver(const rd_kafka_message_t& msg) noexcept {
    std::unique_ptr<delivery_callback> callback(static_cast<delivery_callback*>(msg._private));
    if (msg.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        connected_.store(true, std::memory_order_relaxed);
    }
    // librdkafka stamps each message when produce() enqueues it: the latency costs the produce
    // path nothing. -1 when unknown (a record purged before it was ever enqueued).
    if (const auto us = rd_kafka_message_latency(&msg); us >= 0) {
        auto& h = msg.err == RD_KAFKA_RESP_ERR_NO_ERROR ? latency_.delivered : latency_.failed;
        h.observe(std::chrono::microseconds(us));
    }
    try {
        delivery_report report;
        report.error = make_error_code(msg.err);
        report.partition = msg.partition;
        report.offset = msg.offset;
        if (msg.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            report.possibly_persisted =
                rd_kafka_message_status(&msg) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
        }
        if (callback) {
            callback->on_delivery(report);
        }
    } catch (...) {
        log_->error("a delivery callback threw; the exception was dropped");
    }
    callback.reset();
    outstanding_.fetch_sub(1, std::memory_order_acq_rel);
}

void rdkafka_producer::on_error(rd_kafka_t* rk, int err, const char* reason,
                                void* opaque) noexcept {
    auto* self = static_cast<rdkafka_producer*>(opaque);
    try {
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
            self->connected_.store(false, std::memory_order_relaxed);
        }
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char fatal[512];
            const auto code = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
            self->on_fatal(std::string(rd_kafka_err2name(code)) + ": " + fatal);
            return;
        }
        // Connection failures are already in librdkafka's own log lines (FAIL); say them once.
        const bool transport =
            err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
        self->log_->log(transport ? spdlog::level::debug : spdlog::level::warn, "{}: {}",
                        rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
    } catch (...) {
        // Nothing must unwind into librdkafka.
    }
}

void rdkafka_producer::on_fatal(const std::string& reason) {
    std::function<void(const std::string&)> listener;
    {
        std::lock_guard lock(fatal_mutex_);
        if (fatal_) {
            return;
        }
        fatal_ = reason;
        listener = on_fatal_;
    }
    log_->critical("producer unusable, every record fails from now on (fatal error {})", reason);
    if (listener) {
        listener(reason);
    }
}

std::optional<std::string> rdkafka_producer::fatal_error() const {
    std::lock_guard lock(fatal_mutex_);
    return fatal_;
}

void rdkafka_producer::set_on_fatal(std::function<void(const std::string&)> listener) {
    std::lock_guard lock(fatal_mutex_);
    on_fatal_ = std::move(listener);
}

void rdkafka_producer::raise_fatal_error_for_test(const std::string& reason) {
    // OUT_OF_ORDER_SEQUENCE_NUMBER: what a broker answers when the idempotent sequence broke.
    rd_kafka_test_fatal_error(rk_.get(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                              reason.c_str());
}

int rdkafka_producer::on_stats(rd_kafka_t*, char* json, std::size_t len, void* opaque) noexcept {
    auto* self = static_cast<rdkafka_producer*>(opaque);
    try {
        self->connected_.store(any_broker_up(std::string_view(json, len)),
                               std::memory_order_relaxed);
    } catch (...) {
        // A malformed document leaves the last known state.
    }
    return 0;  // librdkafka frees the document
}

void rdkafka_producer::poll_loop() noexcept {
    // Delivery reports wake rd_kafka_poll at once; the timeout only bounds how long a stop
    // request can go unnoticed if rd_kafka_yield raced with entering the wait.
    while (!stopping_.load(std::memory_order_acquire)) {
        rd_kafka_poll(rk_.get(), 100);
    }
}

void rdkafka_producer::start_poll_thread() {
    stopping_.store(false, std::memory_order_release);
    poll_thread_ = std::thread([this] { poll_loop(); });
}

void rdkafka_producer::stop_poll_thread() noexcept {
    if (poll_thread_.joinable()) {
        stopping_.store(true, std::memory_order_release);
        rd_kafka_yield(rk_.get());
        poll_thread_.join();
    }
}

void rdkafka_producer::drain_reports(clock::time_point until) noexcept {
    while (outstanding_.load(std::memory_order_acquire) > 0 && clock::now() < until) {
        rd_kafka_poll(rk_.get(), 10);
    }
}

void rdkafka_producer::close(std::chrono::milliseconds timeout) noexcept {
    std::lock_guard serial(close_mutex_);
    {
        std::unique_lock lock(produce_mutex_);
        if (closed_) {
            return;
        }
        closed_ = true;
    }
    // Both this thread and the poll thread serve reports while flushing.
    if (rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count())) != 0) {
        log_->warn("closing: {} record(s) not confirmed within {} ms are failed now",
                   outstanding_.load(), timeout.count());
        rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    }
    // Purged records report promptly; the bound only guards against a librdkafka surprise.
    drain_reports(clock::now() + std::chrono::seconds(5));
    {
        std::lock_guard lock(serving_mutex_);
        stop_poll_thread();
    }
    drain_reports(clock::now() + std::chrono::seconds(1));
    if (auto left = outstanding_.load(); left > 0) {
        log_->error("closing: {} delivery report(s) never arrived", left);
    }
}

}  // namespace

std::unique_ptr<producer> make_producer(const config::kafka_config& cfg) {
    return std::make_unique<rdkafka_producer>(cfg);
}

}  // namespace spillway::kafka
