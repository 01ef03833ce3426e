#include "spillway/runtime/logging.hpp"

#include "spillway/core/text.hpp"

#include <spdlog/details/os.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <mutex>

#include <pthread.h>
#include <signal.h>

namespace spillway::runtime {

namespace {

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%eZ %l [%n] %v";
constexpr const char* access_text_pattern = "%Y-%m-%dT%H:%M:%S.%eZ %v";

struct logging_state {
    std::mutex mutex;
    spdlog::level::level_enum level = spdlog::level::info;
    bool json = false;
    bool access_log = true;
    spdlog::sink_ptr stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    spdlog::sink_ptr stdout_sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
};

logging_state& state() {
    static logging_state s;
    return s;
}

// One JSON object per line. A message that is itself a JSON object (the access log's) has its
// fields merged in; any other message becomes the "msg" string.
class json_formatter final : public spdlog::formatter {
public:
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
        if (payload.size() >= 2 && payload.front() == '{' && payload.back() == '}') {
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
        return std::make_unique<json_formatter>();
    }
};

std::unique_ptr<spdlog::formatter> make_formatter(bool json, bool access) {
    if (json) {
        return std::make_unique<json_formatter>();
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
    log->flush_on(access ? spdlog::level::off : spdlog::level::trace);
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
    // spdlog's flusher is a thread of its own, started here, usually before main() blocks the
    // termination signals: started with every signal blocked, it can never be the thread a
    // SIGTERM is delivered to (which would kill the daemon instead of reaching its signal_waiter).
    sigset_t all_signals;
    sigset_t previous;
    sigfillset(&all_signals);
    pthread_sigmask(SIG_BLOCK, &all_signals, &previous);
    spdlog::flush_every(std::chrono::seconds(1));
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
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
