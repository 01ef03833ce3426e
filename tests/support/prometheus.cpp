#include "support/prometheus.hpp"

#include "support/http_client.hpp"

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <sstream>

namespace spillway::test {

namespace {

// name{k="v",...} value  (label values may hold \" \\ \n escapes)
bool parse_sample(const std::string& line, prom_sample& out) {
    static const std::regex head(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
    static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?)re");
    std::smatch m;
    if (!std::regex_match(line, m, head)) {
        return false;
    }
    out.name = m[1];
    const std::string labels = m[3];
    std::size_t consumed = 0;
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label);
         it != std::sregex_iterator(); ++it) {
        if (static_cast<std::size_t>(it->position()) != consumed) {
            return false;
        }
        consumed += static_cast<std::size_t>(it->length());
        out.labels[(*it)[1]] = (*it)[2];
    }
    if (consumed != labels.size()) {
        return false;
    }
    const std::string v = m[4];
    if (v == "+Inf") {
        out.value = HUGE_VAL;
        return true;
    }
    char* end = nullptr;
    out.value = std::strtod(v.c_str(), &end);
    return end != nullptr && *end == '\0';
}

}  // namespace

std::optional<double> prom_scrape::value(std::string_view name,
                                         const std::map<std::string, std::string>& labels) const {
    for (const auto& s : samples) {
        if (s.name != name) {
            continue;
        }
        const bool all = std::all_of(labels.begin(), labels.end(), [&](const auto& kv) {
            auto it = s.labels.find(kv.first);
            return it != s.labels.end() && it->second == kv.second;
        });
        if (all) {
            return s.value;
        }
    }
    return std::nullopt;
}

double prom_scrape::sum(std::string_view name) const {
    double total = 0;
    for (const auto& s : samples) {
        total += s.name == name ? s.value : 0;
    }
    return total;
}

std::size_t prom_scrape::count(std::string_view name) const {
    return static_cast<std::size_t>(std::count_if(
        samples.begin(), samples.end(), [&](const prom_sample& s) { return s.name == name; }));
}

std::set<std::string> prom_scrape::series_names() const {
    std::set<std::string> out;
    for (const auto& s : samples) {
        out.insert(s.name);
    }
    for (const auto& [family, type] : types) {
        out.insert(family);
    }
    return out;
}

prom_scrape parse_exposition(std::string_view text) {
    prom_scrape out;
    out.ok = true;
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.rfind("# HELP ", 0) == 0) {
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            std::istringstream words(line.substr(7));
            std::string family;
            std::string type;
            words >> family >> type;
            out.types[family] = type;
            continue;
        }
        prom_sample s;
        if (line[0] == '#' || !parse_sample(line, s)) {
            out.malformed.push_back(line);
            continue;
        }
        out.samples.push_back(std::move(s));
    }
    return out;
}

prom_scrape scrape(std::uint16_t admin_port) {
    const auto res = fetch(admin_port, "GET", "/metrics");
    if (res.error || res.status != 200) {
        return {};
    }
    return parse_exposition(res.body);
}

}  // namespace spillway::test
