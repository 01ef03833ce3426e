#pragma once
// Reads a daemon's GET /metrics (Prometheus text format 0.0.4) the way a scraper would: every
// sample with its labels, and the families declared by # TYPE. Lines that are neither a comment
// nor a well-formed sample are reported, so a test can hold the format itself to account.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace spillway::test {

struct prom_sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct prom_scrape {
    bool ok = false;  // 200 with a body
    std::vector<prom_sample> samples;
    std::map<std::string, std::string> types;  // family -> counter|gauge|histogram
    std::vector<std::string> malformed;  // lines that did not parse

    // The value of the one sample named `name` whose labels include `labels`; nullopt if none.
    std::optional<double> value(std::string_view name,
                                const std::map<std::string, std::string>& labels = {}) const;
    // The sum over every sample named `name` (0 when there is none).
    double sum(std::string_view name) const;
    std::size_t count(std::string_view name) const;
    // Every series name a query could use: the samples' names (x_bucket, x_sum, x_count for a
    // histogram x) and the family names.
    std::set<std::string> series_names() const;
};

prom_scrape parse_exposition(std::string_view text);

// GET /metrics on 127.0.0.1:port.
prom_scrape scrape(std::uint16_t admin_port);

}  // namespace spillway::test
