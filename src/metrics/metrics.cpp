#include "spillway/metrics/metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace spillway::metrics {

namespace {

void append_label_value(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
}

void append_value(std::string& out, double value) {
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
    } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
        fmt::format_to(std::back_inserter(out), "{}", static_cast<std::int64_t>(value));
    } else {
        fmt::format_to(std::back_inserter(out), "{}", value);
    }
}

}  // namespace

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
}

void exposition::sample(std::string_view name, const label_list& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
        out_ += '{';
        bool first = true;
        for (const auto& [k, v] : labels) {
            if (!first) {
                out_ += ',';
            }
            first = false;
            out_ += k;
            out_ += "=\"";
            append_label_value(out_, v);
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ';
    append_value(out_, value);
    out_ += '\n';
}

void histogram::observe(std::chrono::steady_clock::duration d) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    const double seconds = static_cast<double>(ns) / 1e9;
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) {
        ++i;
    }
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns < 0 ? 0 : ns), std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

void histogram::write(exposition& out, std::string_view name, const label_list& labels) const {
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        const std::string le = i < bounds.size() ? fmt::format("{}", bounds[i]) : "+Inf";
        label_list with_le = labels;
        with_le.emplace_back("le", le);
        out.sample(bucket, with_le, static_cast<double>(cumulative));
    }
    out.sample(std::string(name) + "_sum", labels,
               static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
    out.sample(std::string(name) + "_count", labels,
               static_cast<double>(count_.load(std::memory_order_relaxed)));
}

void registry::add(collector c) {
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(c));
}

std::string registry::render() const {
    exposition out;
    std::lock_guard lock(mutex_);
    for (const auto& c : collectors_) {
        c(out);
    }
    return out.text();
}

}  // namespace spillway::metrics
