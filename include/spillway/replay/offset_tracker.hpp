#pragma once
// Which offsets of a partition may be committed. Messages of one partition finish out of order
// (replay.concurrency requests in flight), but the committed offset must never pass a message that
// is still unfinished: a crash would then skip it. The tracker remembers the offsets handed out per
// partition and reports a new commit point only when the oldest ones are all finished.
// Sans-I/O: no Kafka here, the consumer turns commit points into rd_kafka_offsets_store().

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace spillway::replay {

// An assignment generation: a partition revoked and assigned again gets a new epoch, so that a
// message fetched under the old assignment cannot move the new assignment's commit point.
using epoch_t = std::uint64_t;

struct message_ref {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    epoch_t epoch = 0;
};

class offset_tracker {
public:
    // The partition now belongs to this consumer; returns its new epoch.
    epoch_t assign(std::int32_t partition);

    // The partition was taken away: everything outstanding for it is forgotten.
    void revoke(std::int32_t partition);

    // A message was fetched (in offset order per partition). Returns the ref to finish it with,
    // or nothing when the partition is not assigned (the message must be dropped, not replayed).
    std::optional<message_ref> start(std::int32_t partition, std::int64_t offset);

    // The message is finished (delivered or dead-lettered). Returns the offset to store
    // (the next one to read: last contiguous finished offset + 1) when the commit point moved.
    std::optional<std::int64_t> finish(const message_ref& ref);

    // Whether the message's assignment is still current.
    bool current(const message_ref& ref) const;

    std::size_t outstanding(std::int32_t partition) const;
    std::size_t outstanding() const;
    std::vector<std::int32_t> partitions() const;

private:
    struct partition_state {
        epoch_t epoch = 0;
        std::map<std::int64_t, bool> window;  // offset -> finished, for every unfinished prefix
    };

    std::map<std::int32_t, partition_state> partitions_;
    epoch_t next_epoch_ = 1;
};

}  // namespace spillway::replay
