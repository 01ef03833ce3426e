// What `spillway-replay --tail` prints (DESIGN.md, "The replay consumer"): the text line, the
// JSON line, and the curl command, which must resend the body exactly and let nothing in the
// message act as a file name, an option, a glob or a terminal escape.

#include "spillway/replay/tail_format.hpp"

#include "support/sample_envelope.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace spillway::replay {
namespace {

using json = nlohmann::json;

envelope::envelope sample() {
    return test::sample_envelope();
}

std::string curl_of(const envelope::envelope& e) {
    return format_tail_line(tail_format::curl, envelope::to_json(e), {0, 0},
                            "http://127.0.0.1:3000");
}

bool has_control_bytes(std::string_view line) {
    for (unsigned char c : line) {
        if (c < 0x20 || c >= 0x7f) {
            return true;
        }
    }
    return false;
}

TEST(TailFormat, TextLineHasTheOperatorsFields) {
    auto line = format_tail_line(tail_format::text, envelope::to_json(sample()), {3, 17},
                                 "http://127.0.0.1:3000");
    EXPECT_EQ(line,
              "2026-11-26T18:00:00.123Z 0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11 POST /api/users?x=1 "
              "connect_error body=15B attempts=0 @3/17");
}

TEST(TailFormat, CurlLineResendsByHand) {
    EXPECT_EQ(curl_of(sample()),
              "curl -q -sS --globoff -X 'POST' 'http://127.0.0.1:3000/api/users?x=1' "
              "-H 'Host: localhost:8080' -H 'Content-Type: application/json' -H 'Idempotency-Key: "
              "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11' --data-raw '{\"name\":\"John\"}'");
}

// With --data-binary (or -d), curl reads a body that starts with @ from the file it names.
TEST(TailFormat, CurlBodyIsNeverAFileName) {
    auto e = sample();
    e.body = "@/etc/hostname";
    const auto line = curl_of(e);
    EXPECT_NE(line.find(" --data-raw '@/etc/hostname'"), std::string::npos) << line;
    EXPECT_EQ(line.find("--data-binary"), std::string::npos) << line;
    EXPECT_EQ(line.find(" -d "), std::string::npos) << line;
}

TEST(TailFormat, CurlQuotesWhatTheMessageWrote) {
    auto e = sample();
    e.uri = "/a/[1-100000]/{x,y}?q='$(id)'";
    e.headers = {{"X-Quote", "it's $HOME `id`"}, {"X-Empty", ""}};
    e.body = "'; rm -rf ~; echo '";
    const auto line = curl_of(e);
    // No globbing of the URL, no ~/.curlrc.
    EXPECT_EQ(line.rfind("curl -q -sS --globoff ", 0), 0u) << line;
    EXPECT_NE(line.find(" 'http://127.0.0.1:3000/a/[1-100000]/{x,y}?q='\\''$(id)'\\'''"),
              std::string::npos)
        << line;
    EXPECT_NE(line.find(" -H 'X-Quote: it'\\''s $HOME `id`'"), std::string::npos) << line;
    // curl would drop "X-Empty:"; "X-Empty;" sends it with an empty value.
    EXPECT_NE(line.find(" -H 'X-Empty;'"), std::string::npos) << line;
    EXPECT_NE(line.find(" --data-raw ''\\''; rm -rf ~; echo '\\'''"), std::string::npos) << line;
}

// A body holding NUL, control and non-ASCII bytes: written by printf from octal escapes into
// curl's stdin, and nothing unprintable on the operator's terminal.
TEST(TailFormat, CurlPipesABodyThatIsNotPrintable) {
    auto e = sample();
    e.body = std::string("a\0b\x1b[2J\\\xff'", 10);
    const auto line = curl_of(e);
    EXPECT_FALSE(has_control_bytes(line)) << line;
    EXPECT_EQ(line.rfind("printf '%b' 'a\\0000b\\0033[2J\\0134\\0377'\\''' | curl -q -sS ", 0), 0u)
        << line;
    EXPECT_TRUE(line.ends_with(" --data-binary @-")) << line;
    EXPECT_EQ(line.find("--data-raw"), std::string::npos) << line;
}

TEST(TailFormat, CurlHeaderWithControlBytesIsPrintable) {
    auto e = sample();
    e.headers = {{"User-Agent", "x\x1b]0;owned\x07y\xc3\xa9"}};
    const auto line = curl_of(e);
    EXPECT_FALSE(has_control_bytes(line)) << line;
    EXPECT_NE(line.find(" -H \"$(printf '%b' 'User-Agent: x\\0033]0;owned\\0007y\\0303\\0251')\""),
              std::string::npos)
        << line;
}

TEST(TailFormat, JsonLineIsTheEnvelope) {
    auto raw = envelope::to_json(sample());
    auto line = format_tail_line(tail_format::json, raw, {0, 0}, "");
    EXPECT_EQ(json::parse(line), json::parse(raw));
}

TEST(TailFormat, InvalidEnvelopeIsAShellComment) {
    auto line = format_tail_line(tail_format::curl, "not json", {1, 2}, "");
    EXPECT_EQ(line.rfind("# invalid envelope (", 0), 0u) << line;
    EXPECT_NE(line.find("@1/2"), std::string::npos);
}

TEST(ShellQuote, PrintableTextInSingleQuotes) {
    EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(shell_quote("$HOME `id` \"x\" \\n"), "'$HOME `id` \"x\" \\n'");
    EXPECT_EQ(shell_quote(""), "''");
}

TEST(ShellQuote, OtherTextThroughPrintf) {
    EXPECT_EQ(shell_quote("a\tb'\\"), "\"$(printf '%b' 'a\\0011b'\\''\\0134')\"");
}

}  // namespace
}  // namespace spillway::replay
