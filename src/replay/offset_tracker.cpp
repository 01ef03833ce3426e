#include "spillway/replay/offset_tracker.hpp"

namespace spillway::replay {

epoch_t offset_tracker::assign(std::int32_t partition) {
    auto& state = partitions_[partition];
    state.epoch = next_epoch_++;
    state.window.clear();
    return state.epoch;
}

void offset_tracker::revoke(std::int32_t partition) {
    partitions_.erase(partition);
}

std::optional<message_ref> offset_tracker::start(std::int32_t partition, std::int64_t offset) {
    auto it = partitions_.find(partition);
    if (it == partitions_.end()) {
        return std::nullopt;
    }
    it->second.window.emplace(offset, false);
    return message_ref{partition, offset, it->second.epoch};
}

bool offset_tracker::current(const message_ref& ref) const {
    auto it = partitions_.find(ref.partition);
    return it != partitions_.end() && it->second.epoch == ref.epoch;
}

std::optional<std::int64_t> offset_tracker::finish(const message_ref& ref) {
    if (!current(ref)) {
        return std::nullopt;
    }
    auto& window = partitions_[ref.partition].window;
    auto it = window.find(ref.offset);
    if (it == window.end()) {
        return std::nullopt;
    }
    it->second = true;
    // Only a finished oldest entry moves the commit point; later ones wait for it.
    std::optional<std::int64_t> commit;
    while (!window.empty() && window.begin()->second) {
        commit = window.begin()->first + 1;
        window.erase(window.begin());
    }
    return commit;
}

std::size_t offset_tracker::outstanding(std::int32_t partition) const {
    auto it = partitions_.find(partition);
    return it == partitions_.end() ? 0 : it->second.window.size();
}

std::size_t offset_tracker::outstanding() const {
    std::size_t total = 0;
    for (const auto& [partition, state] : partitions_) {
        total += state.window.size();
    }
    return total;
}

std::vector<std::int32_t> offset_tracker::partitions() const {
    std::vector<std::int32_t> out;
    for (const auto& [partition, state] : partitions_) {
        out.push_back(partition);
    }
    return out;
}

}  // namespace spillway::replay
