#include "support/kcat.hpp"

#include "support/process.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace spillway::test::kcat {

namespace {

// One line of metadata per message, then the key and the value raw: lengths, not delimiters,
// say where binary content ends.
constexpr const char* consume_format = "%p %o %K %S %h\\n%k%s\\n";

command_result run_kcat(std::vector<std::string> args, std::chrono::milliseconds timeout) {
    process_options options;
    options.path = "kcat";
    options.args = std::move(args);
    auto result = run_command(std::move(options), timeout);
    if (result.exit_status != 0) {
        throw std::runtime_error("kcat failed (status " + std::to_string(result.exit_status) +
                                 "): " + result.err);
    }
    return result;
}

std::vector<std::pair<std::string, std::string>> parse_headers(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> headers;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item.empty()) {
            continue;
        }
        const auto eq = item.find('=');
        headers.emplace_back(item.substr(0, eq),
                             eq == std::string::npos ? "" : item.substr(eq + 1));
    }
    return headers;
}

std::vector<message> parse_messages(const std::string& out) {
    std::vector<message> messages;
    std::size_t pos = 0;
    while (pos < out.size()) {
        const auto eol = out.find('\n', pos);
        if (eol == std::string::npos) {
            throw std::runtime_error("kcat: truncated output");
        }
        std::istringstream meta(out.substr(pos, eol - pos));
        message m;
        long long key_len = -1;
        long long value_len = -1;
        meta >> m.partition >> m.offset >> key_len >> value_len;
        std::string header_text;
        std::getline(meta >> std::ws, header_text);
        m.headers = parse_headers(header_text);
        pos = eol + 1;
        const auto key_bytes = static_cast<std::size_t>(std::max(key_len, 0LL));
        const auto value_bytes = static_cast<std::size_t>(std::max(value_len, 0LL));
        if (pos + key_bytes + value_bytes + 1 > out.size()) {
            throw std::runtime_error("kcat: truncated message");
        }
        if (key_len >= 0) {
            m.key = out.substr(pos, key_bytes);
        }
        m.value = out.substr(pos + key_bytes, value_bytes);
        pos += key_bytes + value_bytes + 1;
        messages.push_back(std::move(m));
    }
    return messages;
}

}  // namespace

std::optional<std::string> message::header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
        if (n == name) {
            return v;
        }
    }
    return std::nullopt;
}

std::vector<message> consume_all(const std::string& bootstrap, const std::string& topic,
                                 std::chrono::milliseconds timeout) {
    auto result = run_kcat(
        {"-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", consume_format},
        timeout);
    return parse_messages(result.out);
}

std::vector<std::int32_t> partitions(const std::string& bootstrap, const std::string& topic,
                                     std::chrono::milliseconds timeout) {
    auto result = run_kcat({"-L", "-J", "-b", bootstrap, "-t", topic}, timeout);
    std::vector<std::int32_t> out;
    const auto doc = nlohmann::json::parse(result.out);
    for (const auto& t : doc.at("topics")) {
        if (t.at("topic") != topic || t.contains("error")) {
            continue;
        }
        for (const auto& p : t.at("partitions")) {
            out.push_back(p.at("partition").get<std::int32_t>());
        }
    }
    return out;
}

std::map<std::int32_t, std::int64_t> end_offsets(const std::string& bootstrap,
                                                 const std::string& topic,
                                                 std::chrono::milliseconds timeout) {
    std::vector<std::string> args{"-Q", "-J", "-b", bootstrap};
    for (auto p : partitions(bootstrap, topic, timeout)) {
        args.push_back("-t");
        args.push_back(topic + ":" + std::to_string(p) + ":-1");  // -1: the end offset
    }
    std::map<std::int32_t, std::int64_t> out;
    if (args.size() == 4) {
        return out;
    }
    const auto doc = nlohmann::json::parse(run_kcat(std::move(args), timeout).out);
    for (const auto& [name, entry] : doc.at(topic).items()) {
        if (entry.is_object() && entry.contains("partition")) {
            out[entry.at("partition").get<std::int32_t>()] = entry.at("offset").get<std::int64_t>();
        }
    }
    return out;
}

std::int64_t total_end_offset(const std::string& bootstrap, const std::string& topic,
                              std::chrono::milliseconds timeout) {
    std::int64_t total = 0;
    for (const auto& [partition, offset] : end_offsets(bootstrap, topic, timeout)) {
        total += offset;
    }
    return total;
}

void produce(const std::string& bootstrap, const std::string& topic, const std::string& key,
             const std::string& value,
             const std::vector<std::pair<std::string, std::string>>& headers,
             std::chrono::milliseconds timeout) {
    temp_dir dir("spillway-kcat");
    const auto file = dir / "value";
    std::ofstream(file, std::ios::binary) << value;
    std::vector<std::string> args{"-P", "-b", bootstrap, "-t", topic};
    if (!key.empty()) {
        args.insert(args.end(), {"-k", key});
    }
    for (const auto& [name, v] : headers) {
        args.insert(args.end(), {"-H", name + "=" + v});
    }
    args.push_back(file.string());
    run_kcat(std::move(args), timeout);
}

}  // namespace spillway::test::kcat
