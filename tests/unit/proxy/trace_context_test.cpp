// W3C Trace Context at the proxy: which traceparent values are valid, when one is generated, and
// what the backend gets.

#include "spillway/proxy/trace_context.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace spillway::proxy {
namespace {

constexpr std::string_view valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view valid_id = "4bf92f3577b34da6a3ce929d0e0e4736";

bool is_generated_format(std::string_view v) {
    return v.size() == 55 && v.substr(0, 3) == "00-" && v.substr(52) == "-00" &&
           parse_traceparent(v).has_value();
}

TEST(Traceparent, AcceptsVersion00) {
    EXPECT_EQ(parse_traceparent(valid), valid_id);
    EXPECT_EQ(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
              valid_id);
}

TEST(Traceparent, RejectsMalformedValues) {
    const std::string v(valid);
    auto with = [&](std::size_t at, std::string_view s) {
        std::string out = v;
        out.replace(at, s.size(), s);
        return out;
    };
    for (const std::string& bad : {
             std::string(), v.substr(0, 54),  // short
             v + "-",  // 00 has nothing more
             v + "-00",  //
             with(0, "ff"),  // forbidden version
             with(0, "0g"),  // not hex
             with(3, "4BF9"),  // upper case
             with(3, std::string(32, '0')),  // all-zero trace id
             with(36, std::string(16, '0')),  // all-zero parent id
             with(53, "0x"),  // flags not hex
             with(2, "_"),  // separators
             with(35, "_"), with(52, "_"), std::string(" ").append(v, 0, 54),  // leading space
         }) {
        EXPECT_FALSE(parse_traceparent(bad).has_value()) << bad;
    }
}

TEST(Traceparent, LaterVersionsAreReadOnTheirVersion00Prefix) {
    const std::string v01 = "01" + std::string(valid.substr(2));
    EXPECT_EQ(parse_traceparent(v01), valid_id);
    EXPECT_EQ(parse_traceparent(v01 + "-what-comes-next"), valid_id);
    EXPECT_FALSE(parse_traceparent(v01 + "x").has_value());  // the flags must end at a dash
    EXPECT_FALSE(parse_traceparent("cc-" + std::string(valid.substr(3, 30))).has_value());
}

client_request request_with(std::initializer_list<std::pair<std::string, std::string>> fields) {
    client_request req{http::verb::get, "/", 11};
    for (const auto& [n, v] : fields) {
        req.insert(n, v);
    }
    return req;
}

TEST(TraceContext, KeepsAValidClientTraceparent) {
    auto t = trace_context::from_request(request_with({{"Traceparent", std::string(valid)}}));
    EXPECT_TRUE(t.present());
    EXPECT_FALSE(t.generated());
    t.generate_if_absent();
    EXPECT_FALSE(t.generated());
    EXPECT_EQ(t.trace_id(), valid_id);
    EXPECT_EQ(t.generated_header(), "");
}

TEST(TraceContext, GeneratesWhenAbsentOrInvalid) {
    for (const auto& req : {request_with({}), request_with({{"traceparent", "garbage"}}),
                            request_with({{"traceparent", std::string(valid)},
                                          {"traceparent", std::string(valid)}})}) {
        auto t = trace_context::from_request(req);
        EXPECT_FALSE(t.present());
        EXPECT_EQ(t.trace_id(), "");
        t.generate_if_absent();
        EXPECT_TRUE(t.generated());
        EXPECT_TRUE(is_generated_format(t.generated_header())) << t.generated_header();
        EXPECT_EQ(t.trace_id(), t.generated_header().substr(3, 32));
        const std::string once(t.generated_header());
        t.generate_if_absent();
        EXPECT_EQ(t.generated_header(), once);  // generated once per request
    }
}

TEST(TraceContext, GeneratedIdsDoNotRepeat) {
    std::set<std::string> traces;
    std::set<std::string> parents;
    for (int i = 0; i < 10000; ++i) {
        trace_context t;
        t.generate_if_absent();
        traces.emplace(t.trace_id());
        parents.emplace(t.generated_header().substr(36, 16));
    }
    EXPECT_EQ(traces.size(), 10000u);
    EXPECT_EQ(parents.size(), 10000u);
}

// The head sent to the backend: the client's trace headers as they were, or the generated one
// in place of invalid ones.
std::string upstream_head(const client_request& req, std::string_view traceparent) {
    std::string out;
    build_upstream_request_head(out, req, forward_context{"10.0.0.9", "id", "b:1", traceparent});
    return out;
}

TEST(TraceContextUpstream, ClientHeadersPassUnchangedWhenValid) {
    const auto req = request_with({{"traceparent", std::string(valid)},
                                   {"tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}});
    auto t = trace_context::from_request(req);
    t.generate_if_absent();
    const auto head = upstream_head(req, t.generated_header());
    EXPECT_NE(head.find("\r\ntraceparent: " + std::string(valid) + "\r\n"), std::string::npos)
        << head;
    EXPECT_NE(head.find("\r\ntracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE\r\n"),
              std::string::npos)
        << head;
}

TEST(TraceContextUpstream, AGeneratedTraceparentReplacesAnInvalidOneAndItsState) {
    const auto req = request_with({{"TraceParent", "00-bad"}, {"tracestate", "rojo=1"}});
    auto t = trace_context::from_request(req);
    t.generate_if_absent();
    const auto head = upstream_head(req, t.generated_header());
    EXPECT_EQ(head.find("00-bad"), std::string::npos) << head;
    EXPECT_EQ(head.find("rojo"), std::string::npos) << head;
    EXPECT_NE(head.find("\r\ntraceparent: " + std::string(t.generated_header()) + "\r\n"),
              std::string::npos)
        << head;
}

}  // namespace
}  // namespace spillway::proxy
