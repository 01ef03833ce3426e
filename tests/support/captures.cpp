#include "support/captures.hpp"

#include "support/process.hpp"
#include "support/schema.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>

namespace spillway::test {

using json = nlohmann::json;

std::string expect_captured(const response& res, bool queued) {
    EXPECT_FALSE(res.error) << res.error.message();
    EXPECT_EQ(res.status, 503u) << res.body;
    EXPECT_EQ(res.header("Content-Type"), "application/json");
    EXPECT_EQ(res.header("Retry-After"), "30");
    const auto header_id = res.header("X-Request-Id");
    EXPECT_TRUE(header_id.has_value()) << "no X-Request-Id";
    const auto body = json::parse(res.body, nullptr, false);
    if (!body.is_object() || !body.contains("request_id") || !body["request_id"].is_string()) {
        ADD_FAILURE() << "not the capture answer: " << res.body;
        return "";
    }
    const std::string id = body["request_id"];
    const json expected = {{"error", "backend_unavailable"},
                           {"queued", queued},
                           {"request_id", id},
                           {"retry_after", 30}};
    EXPECT_EQ(body, expected) << res.body;
    EXPECT_EQ(header_id.value_or(""), id);
    static const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                                 std::regex::icase);
    EXPECT_TRUE(std::regex_match(id, uuid)) << id;
    return id;
}

std::vector<captured> read_topic(const std::string& bootstrap) {
    std::vector<captured> out;
    for (auto& m : kcat::consume_all(bootstrap, capture_topic, 30s)) {
        captured c;
        c.raw = json::parse(m.value, nullptr, false);
        if (c.raw.is_discarded()) {
            c.raw = nullptr;
        }
        auto parsed = spillway::envelope::parse_envelope(m.value);
        if (auto* e = std::get_if<spillway::envelope::envelope>(&parsed)) {
            c.envelope = std::move(*e);
        } else {
            c.parse_error = std::get<spillway::envelope::parse_error>(parsed).reason;
        }
        c.message = std::move(m);
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<captured> read_records(const std::string& bootstrap, std::int64_t n) {
    EXPECT_TRUE(wait_for_records(bootstrap, n, 20s))
        << "fewer than " << n << " records in the topic: " << records_in_topic(bootstrap);
    return read_topic(bootstrap);
}

std::int64_t records_in_topic(const std::string& bootstrap) {
    try {
        return kcat::total_end_offset(bootstrap, capture_topic, 5s);
    } catch (const std::exception&) {
        return -1;
    }
}

bool wait_for_records(const std::string& bootstrap, std::int64_t n,
                      std::chrono::milliseconds timeout) {
    return wait_until([&] { return records_in_topic(bootstrap) >= n; }, timeout, 100ms);
}

void expect_schema_valid(const std::vector<captured>& records) {
    std::vector<std::string> documents;
    documents.reserve(records.size());
    for (const auto& r : records) {
        documents.push_back(r.message.value);
    }
    const auto verdicts = validate_json(envelope_schema_path(), documents);
    ASSERT_EQ(verdicts.size(), records.size());
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
        EXPECT_TRUE(verdicts[i].valid)
            << "record at offset " << records[i].message.offset << ": " << verdicts[i].message;
    }
}

std::vector<std::string> ids_of(const std::vector<captured>& records) {
    std::vector<std::string> ids;
    ids.reserve(records.size());
    for (const auto& r : records) {
        ids.push_back(r.envelope ? r.envelope->id : std::string());
    }
    return ids;
}

void expect_exactly_once(const std::vector<captured>& records, const std::set<std::string>& ids) {
    std::map<std::string, int> count;
    for (const auto& id : ids_of(records)) {
        ++count[id.empty() ? "<not an envelope>" : id];
    }
    EXPECT_EQ(records.size(), ids.size()) << "records in the topic vs. requests answered queued";
    int named = 0;
    for (const auto& id : ids) {
        const int n = count.count(id) ? count[id] : 0;
        if (n != 1 && named++ < 5) {
            ADD_FAILURE() << "request " << id << " is in the topic " << n << " times";
        }
    }
    for (const auto& [id, n] : count) {
        if (!ids.count(id) && named++ < 10) {
            ADD_FAILURE() << "unexpected record " << id << " (" << n << " times)";
        }
    }
}

std::set<std::string> queued_ids(const load_result& result, std::size_t expected) {
    EXPECT_EQ(result.errors, 0u) << "requests without an answer";
    EXPECT_EQ(result.answers.size(), expected);
    std::set<std::string> ids;
    std::size_t bad = 0;
    for (const auto& a : result.answers) {
        const auto body = json::parse(a.body, nullptr, false);
        const bool ok = a.status == 503 && body.is_object() && body.value("queued", false) &&
                        body.value("request_id", "") == a.request_id && !a.request_id.empty();
        if (!ok && bad++ < 3) {
            ADD_FAILURE() << "not answered queued:true: " << a.status << " " << a.body;
        }
        if (ok) {
            ids.insert(a.request_id);
        }
    }
    EXPECT_EQ(bad, 0u) << "answers not queued:true";
    EXPECT_EQ(ids.size(), expected) << "distinct request ids answered queued:true";
    return ids;
}

}  // namespace spillway::test
