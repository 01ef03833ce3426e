#include "capture_fixture.hpp"

#include "support/schema.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace spillway::test::capture_suite {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

json default_settings(std::uint16_t port, std::uint16_t admin_port,
                      const proxy_options& options) {
    return {
        {"listen", "127.0.0.1:" + std::to_string(port)},
        {"threads", 1},
        {"shutdown_timeout_ms", 5000},
        {"backend",
         {{"url", options.backend_url}, {"connect_timeout_ms", 1000}, {"response_timeout_ms", 2000}}},
        {"kafka", {{"brokers", options.brokers}, {"delivery_timeout_ms", 5000}}},
        {"spool", {{"dir", options.spool_dir.string()}}},
        {"admin", {{"listen", "127.0.0.1:" + std::to_string(admin_port)}}},
        {"log", {{"level", "warn"}, {"access_log", false}}},
    };
}

// The state every connection of one load run shares; all on the run's one thread.
struct load_state {
    const load_options& options;
    http::verb verb;
    std::size_t next = 0;
    load_result result;
};

http::request<http::string_body> load_request(const load_state& st, std::size_t index) {
    http::request<http::string_body> req{st.verb,
                                         st.options.target + "?n=" + std::to_string(index), 11};
    req.set(http::field::host, "proxy.test");
    req.set(http::field::content_type, "application/json");
    req.body() = st.options.body;
    req.prepare_payload();
    return req;
}

// Sends requests on one connection until none are left; reconnects when the proxy closed it.
// Requests that got no whole response are counted by run_load from what is missing.
net::awaitable<void> load_connection(load_state& st, tcp::endpoint ep) {
    auto ex = co_await net::this_coro::executor;
    while (st.next < st.options.requests) {
        beast::tcp_stream stream(ex);
        auto [cec] = co_await stream.async_connect(ep, tuple_awaitable);
        if (cec) {
            co_return;
        }
        beast::flat_buffer buffer;
        bool open = true;
        while (open && st.next < st.options.requests) {
            const std::size_t index = st.next++;
            auto req = load_request(st, index);
            const auto start = std::chrono::steady_clock::now();
            auto [wec, wn] = co_await http::async_write(stream, req, tuple_awaitable);
            if (wec) {
                break;
            }
            http::response_parser<http::string_body> parser;
            parser.body_limit(1024 * 1024);
            auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
            if (rec) {
                break;
            }
            const auto& res = parser.get();
            answer a;
            a.status = res.result_int();
            a.body = res.body();
            if (auto it = res.find("X-Request-Id"); it != res.end()) {
                a.request_id = std::string(it->value());
            }
            a.took = std::chrono::steady_clock::now() - start;
            st.result.answers.push_back(std::move(a));
            open = res.keep_alive();
        }
    }
}

}  // namespace


std::string dead_backend_url() {
    return "http://127.0.0.1:" + std::to_string(free_port());
}

proxy::proxy(const proxy_options& options)
    : port_(free_port()), admin_port_(free_port()), process_([&] {
          config_ = default_settings(port_, admin_port_, options);
          if (!options.settings.is_null()) {
              config_.merge_patch(options.settings);
          }
          const auto path = dir_ / "spillway.json";
          std::ofstream(path) << config_.dump(2);
          return process::start({bin_path("spillway"), {"--config", path.string()}, {},
                                 "spillway"});
      }()) {
    if (!process_.wait_for_port(port_, 10s)) {
        throw std::runtime_error("spillway did not accept on port " + std::to_string(port_) +
                                 "; stderr: " + process_.stderr_text());
    }
    // The admin listener starts just after the proxy's own (so a probe that finds it knows the
    // proxy accepts): wait for it too, or a test's first scrape can race it (it did, under ASan).
    if (const auto admin = admin_port_of(config_); admin && !process_.wait_for_port(*admin, 10s)) {
        throw std::runtime_error("spillway's admin listener did not accept on port " +
                                 std::to_string(*admin) + "; stderr: " + process_.stderr_text());
    }
}

std::optional<int> proxy::terminate(std::chrono::milliseconds timeout) {
    process_.signal(SIGTERM);
    return process_.wait_exit(timeout);
}

std::optional<double> metric(std::uint16_t admin_port, std::string_view name,
                             const header_list& labels) {
    const auto res = fetch(admin_port, "GET", "/metrics");
    if (res.error || res.status != 200) {
        return std::nullopt;
    }
    std::istringstream in(res.body);
    std::string line;
    while (std::getline(in, line)) {
        const auto end = line.find_first_of("{ ");
        if (line.empty() || line[0] == '#' || end == std::string::npos ||
            std::string_view(line).substr(0, end) != name) {
            continue;
        }
        const bool all = std::all_of(labels.begin(), labels.end(), [&](const auto& kv) {
            return line.find(kv.first + "=\"" + kv.second + "\"") != std::string::npos;
        });
        if (all) {
            return std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
        }
    }
    return std::nullopt;
}

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
    for (auto& m : kcat::consume_all(bootstrap, topic, 30s)) {
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
        return kcat::total_end_offset(bootstrap, topic, 5s);
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
        EXPECT_TRUE(verdicts[i].valid) << "record at offset " << records[i].message.offset << ": "
                                       << verdicts[i].message;
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

load_result run_load(const load_options& options) {
    // Declared before the context: coroutines still pending at the deadline refer to it until
    // the context destroys them.
    load_state st{options, http::string_to_verb(options.method), 0, {}};
    net::io_context ioc{1};
    const tcp::endpoint ep(net::ip::make_address_v4("127.0.0.1"), options.port);
    for (std::size_t i = 0; i < options.connections; ++i) {
        net::co_spawn(ioc, load_connection(st, ep), net::detached);
    }
    ioc.run_for(options.timeout);
    st.result.errors = options.requests - st.result.answers.size();
    return std::move(st.result);
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

}  // namespace spillway::test::capture_suite
