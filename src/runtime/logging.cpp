#include "spillway/runtime/logging.hpp"

#include "spillway/core/text.hpp"
#include "spillway/runtime/log_writer.hpp"

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <mutex>
#include <vector>

#include <unistd.h>

namespace spillway::runtime {

namespace {

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v";
constexpr const char* access_text_pattern = "%Y-%m-%dT%H:%M:%S.%eZ %v";

// Each output's queue: at about 200 bytes a line, some 5,000 lines, a few seconds of a stalled
// output at a busy proxy's rate, before lines are dropped.
constexpr std::size_t queue_bytes = 1 << 20;
enum output : std::size_t { stdout_output = 0, stderr_output = 1 };

// Formats under the sink's lock (spdlog's formatters are not thread-safe; formatting is short)
// and hands the line to the log writer, which never blocks: the worker that logs never waits for
// the output.
class queue_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    queue_sink(std::shared_ptr<log_writer> writer, output out)
        : writer_(std::move(writer)), output_(out) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        writer_->push(output_, std::string_view(line.data(), line.size()));
    }
    void flush_() override {}  // the writer writes at once

private:
    std::shared_ptr<log_writer> writer_;  // shared: a logger may outlive the logging state
    output output_;
};

struct logging_state {
    std::mutex mutex;
    spdlog::level::level_enum level = spdlog::level::info;
    bool json = false;
    bool access_log = true;
    // Started on first use (setup_logging, or a logger made before it), from main's thread.
    std::shared_ptr<log_writer> writer =
        std::make_shared<log_writer>(std::vector<int>{STDOUT_FILENO, STDERR_FILENO}, queue_bytes);
    spdlog::sink_ptr stderr_sink = std::make_shared<queue_sink>(writer, stderr_output);
    spdlog::sink_ptr stdout_sink = std::make_shared<queue_sink>(writer, stdout_output);
};

logging_state& state() {
    static logging_state s;
    return s;
}

// One JSON object per line. The access log's message is itself a JSON object (built with every
// field escaped) and has its fields merged in; any other message becomes the "msg" string, so a
// diagnostic that happens to quote a JSON object from outside cannot forge fields.
class json_formatter final : public spdlog::formatter {
public:
    explicit json_formatter(bool merge_object) : merge_object_(merge_object) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        std::string line;
        line.reserve(128 + msg.payload.size());
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch())
                .count();
        std::time_t secs = static_cast<std::time_t>(ms / 1000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char ts[40];
        std::size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(ms % 1000));
        line += "{\"time\":\"";
        line += ts;
        line += "\",\"level\":\"";
        line += spdlog::level::to_string_view(msg.level).data();
        line += "\",\"logger\":\"";
        core::append_json_escaped(line,
                                  std::string_view(msg.logger_name.data(), msg.logger_name.size()));
        line += "\",";
        std::string_view payload(msg.payload.data(), msg.payload.size());
        if (merge_object_ && payload.size() >= 2 && payload.front() == '{' &&
            payload.back() == '}') {
            line.append(payload.substr(1));
        } else {
            line += "\"msg\":\"";
            core::append_json_escaped(line, payload);
            line += "\"}";
        }
        line += '\n';
        dest.append(line.data(), line.data() + line.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<json_formatter>(merge_object_);
    }

private:
    bool merge_object_;
};

std::unique_ptr<spdlog::formatter> make_formatter(bool json, bool access) {
    if (json) {
        return std::make_unique<json_formatter>(access);
    }
    return std::make_unique<spdlog::pattern_formatter>(access ? access_text_pattern : text_pattern,
                                                       spdlog::pattern_time_type::utc);
}

// The access log is switched by log.access_log, not by the level of the diagnostic logs.
spdlog::level::level_enum level_for(const std::string& name, const logging_state& s) {
    if (name == "access") {
        return s.access_log ? spdlog::level::info : spdlog::level::off;
    }
    return s.level;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, logging_state& s) {
    const bool access = name == "access";
    auto sink = access ? s.stdout_sink : s.stderr_sink;
    auto log = std::make_shared<spdlog::logger>(name, sink);
    log->set_formatter(make_formatter(s.json, access));
    log->set_level(level_for(name, s));
    spdlog::register_logger(log);
    return log;
}

}  // namespace

void setup_logging(const config::log_config& cfg) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    s.level = spdlog::level::from_str(cfg.level);
    s.json = cfg.format == "json";
    s.access_log = cfg.access_log;
    // Sinks are shared by all loggers; formatters live per logger because the access log differs.
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& log) {
        log->set_formatter(make_formatter(s.json, log->name() == "access"));
        log->set_level(level_for(log->name(), s));
    });
}

void set_log_level(const std::string& level) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    s.level = spdlog::level::from_str(level);
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& log) {
        log->set_level(level_for(log->name(), s));
    });
}

void shutdown_logging(std::chrono::milliseconds bound) {
    spdlog::shutdown();
    state().writer->stop(bound);
}

std::uint64_t log_lines_dropped() {
    return state().writer->dropped();
}

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
    auto& s = state();
    std::lock_guard lock(s.mutex);
    if (auto existing = spdlog::get(name)) {
        return existing;
    }
    return make_logger(name, s);
}

std::shared_ptr<spdlog::logger> access_logger() {
    static std::shared_ptr<spdlog::logger> log = logger("access");
    return log;
}

bool json_logs() {
    return state().json;
}

}  // namespace spillway::runtime
