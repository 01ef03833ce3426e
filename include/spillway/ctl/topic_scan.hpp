#pragma once
// Reading a topic whole, as it is when the scan starts, for `spillway-ctl find|stats|redrive`:
// each partition from its oldest record to the end offset it had then, with assign() (no group
// membership, nothing committed). Records appended meanwhile are not waited for. Also the replay
// group's committed offsets, read without joining the group.

#include "spillway/config/config.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace spillway::ctl {

// Kafka could not be read (the command exits 1 and says why).
struct kafka_unavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct scanned_record {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::string key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;

    // The value of the first header named `name`, if any.
    const std::string* header(std::string_view name) const;
};

struct partition_extent {
    std::int32_t partition = -1;
    std::int64_t low = 0;  // the oldest offset still in the log
    std::int64_t high = 0;  // the end offset: the next record's
};

class topic_scanner {
public:
    // `timeout`: the most any step (metadata, offsets, a read making no progress) may wait.
    topic_scanner(const config::config& cfg, std::chrono::milliseconds timeout);
    ~topic_scanner();
    topic_scanner(const topic_scanner&) = delete;
    topic_scanner& operator=(const topic_scanner&) = delete;

    // The topic's partitions with their offsets now. Throws kafka_unavailable.
    std::vector<partition_extent> extents(const std::string& topic);

    // Calls `visit` with every record of `topic` between the extents it has now, partition by
    // partition in offset order. Returns those extents. Throws kafka_unavailable.
    std::vector<partition_extent> scan(const std::string& topic,
                                       const std::function<void(const scanned_record&)>& visit);

    // The offsets `group` has committed on `topic`, by partition (absent: none committed).
    std::map<std::int32_t, std::int64_t> committed(const std::string& group,
                                                   const std::string& topic,
                                                   const std::vector<partition_extent>& extents);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace spillway::ctl
