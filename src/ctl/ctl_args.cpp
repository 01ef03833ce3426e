#include "spillway/ctl/ctl_args.hpp"

#include <charconv>
#include <cmath>

namespace spillway::ctl {

const char* const ctl_usage =
    "commands:\n"
    "  tail [--topic T] [--from-beginning] [--format text|json|curl] [filters]\n"
    "                    print envelopes of kafka.topic (or T) as they arrive; commits nothing\n"
    "  find ID           every record of that request id in the main and dead-letter topics\n"
    "  stats             records, offsets and the replay group's lag; dead letters by reason\n"
    "  redrive [filters] [--dry-run] [--rate N] [--limit N] [--force]\n"
    "                    send matching dead letters back to kafka.topic, each at most once\n"
    "filters: --id ID (repeatable) --kind KIND --reason TEXT --status N --method M\n"
    "         --path-prefix P --since T --until T (RFC 3339, on received_at)\n";

namespace {

template <class T>
std::optional<T> parse_number(const std::string& text) {
    T value{};
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty()) {
        return std::nullopt;
    }
    return value;
}

class arg_reader {
public:
    explicit arg_reader(const std::vector<std::string>& args) : args_(args) {}
    bool done() const { return next_ >= args_.size(); }
    const std::string& take() { return args_[next_++]; }
    // The value after option `name`, or an error naming it.
    std::variant<std::string, usage_error> value_of(const std::string& name) {
        if (done()) {
            return usage_error{name + ": needs a value"};
        }
        return take();
    }

private:
    const std::vector<std::string>& args_;
    std::size_t next_ = 0;
};

bool is_filter(const std::string& name) {
    for (const char* filter : {"--id", "--kind", "--reason", "--status", "--method",
                               "--path-prefix", "--since", "--until"}) {
        if (name == filter) {
            return true;
        }
    }
    return false;
}

// Applies one filter option (is_filter(name)); returns the error, or "" when applied.
std::string apply_filter(const std::string& name, const std::string& value, record_filter& f) {
    if (name == "--id") {
        f.ids.push_back(value);
    } else if (name == "--kind") {
        f.kind = core::failure_kind_from_string(value);
        if (!f.kind) {
            return "--kind: " + value +
                   " is not a failure kind (connect_error, timeout, upstream_status, "
                   "upstream_reset, circuit_open)";
        }
    } else if (name == "--reason") {
        f.reason = value;
    } else if (name == "--status") {
        const auto status = parse_number<unsigned>(value);
        if (!status || *status < 100 || *status > 599) {
            return "--status: " + value + " is not an HTTP status (100..599)";
        }
        f.status = *status;
    } else if (name == "--method") {
        f.method = value;
    } else if (name == "--path-prefix") {
        if (value.empty() || value.front() != '/') {
            return "--path-prefix: " + value + " does not start with /";
        }
        f.path_prefix = value;
    } else {  // --since, --until
        const auto at = parse_rfc3339(value);
        if (!at) {
            return name + ": " + value + " is not an RFC 3339 time (2026-12-01T10:00:00Z)";
        }
        (name == "--since" ? f.since : f.until) = *at;
    }
    return "";
}

std::optional<ctl_command> command_named(const std::string& name) {
    if (name == "tail") {
        return ctl_command::tail;
    }
    if (name == "find") {
        return ctl_command::find;
    }
    if (name == "stats") {
        return ctl_command::stats;
    }
    if (name == "redrive") {
        return ctl_command::redrive;
    }
    return std::nullopt;
}

// One option of a command other than a filter; "" when applied, else the error.
std::string apply_option(ctl_request& r, const std::string& name, arg_reader& in) {
    const auto needs_value = [&](auto&& apply) -> std::string {
        auto v = in.value_of(name);
        if (auto* e = std::get_if<usage_error>(&v)) {
            return e->message;
        }
        return apply(std::get<std::string>(v));
    };
    const bool tail = r.command == ctl_command::tail;
    const bool redrive = r.command == ctl_command::redrive;
    if (tail && name == "--topic") {
        return needs_value([&](const std::string& v) -> std::string {
            if (v.empty()) {
                return "--topic: must not be empty";
            }
            r.topic = v;
            return "";
        });
    }
    if (tail && name == "--from-beginning") {
        r.from_beginning = true;
        return "";
    }
    if (tail && name == "--format") {
        return needs_value([&](const std::string& v) -> std::string {
            const auto format = replay::tail_format_from_string(v);
            if (!format) {
                return "--format: expected text, json or curl, not " + v;
            }
            r.format = *format;
            return "";
        });
    }
    if (redrive && name == "--dry-run") {
        r.dry_run = true;
        return "";
    }
    if (redrive && name == "--force") {
        r.force = true;
        return "";
    }
    if (redrive && name == "--rate") {
        return needs_value([&](const std::string& v) -> std::string {
            const auto rate = parse_number<double>(v);
            if (!rate || !std::isfinite(*rate) || *rate <= 0) {
                return "--rate: " + v + " is not a positive number of records per second";
            }
            r.rate = *rate;
            return "";
        });
    }
    if (redrive && name == "--limit") {
        return needs_value([&](const std::string& v) -> std::string {
            const auto limit = parse_number<std::uint64_t>(v);
            if (!limit || *limit == 0) {
                return "--limit: " + v + " is not a positive whole number";
            }
            r.limit = *limit;
            return "";
        });
    }
    if ((tail || redrive) && is_filter(name)) {
        return needs_value(
            [&](const std::string& v) -> std::string { return apply_filter(name, v, r.filter); });
    }
    return name + ": not an option of this command (spillway-ctl --help)";
}

}  // namespace

std::variant<ctl_request, usage_error> parse_ctl_args(const std::vector<std::string>& args) {
    arg_reader in(args);
    if (in.done()) {
        return usage_error{"a command is needed: tail, find, stats or redrive"};
    }
    const auto& name = in.take();
    const auto command = command_named(name);
    if (!command) {
        return usage_error{name + ": not a command (tail, find, stats, redrive)"};
    }
    ctl_request r;
    r.command = *command;
    while (!in.done()) {
        const auto& arg = in.take();
        if (arg.rfind("--", 0) != 0) {
            if (r.command == ctl_command::find && r.id.empty()) {
                r.id = arg;
                continue;
            }
            return usage_error{arg + ": unexpected (spillway-ctl --help)"};
        }
        if (auto error = apply_option(r, arg, in); !error.empty()) {
            return usage_error{error};
        }
    }
    if (r.command == ctl_command::find && r.id.empty()) {
        return usage_error{"find: which request id?"};
    }
    if (r.filter.since && r.filter.until && *r.filter.since >= *r.filter.until) {
        return usage_error{"--since must be before --until"};
    }
    return r;
}

}  // namespace spillway::ctl
