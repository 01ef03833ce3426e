// `spillway-replay --tail --format curl` prints commands for a POSIX shell: run through /bin/sh
// (dash on Debian, no bash extensions) with `curl` replaced by a shell function that records its
// arguments and its stdin, each command must hand curl exactly the request of the envelope, and
// nothing in the envelope may run, expand or be read as a file.

#include "spillway/replay/tail_format.hpp"

#include "support/process.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

namespace spillway::test {
namespace {

struct curl_call {
    std::vector<std::string> args;
    std::string stdin_bytes;
};

// Runs `command` under /bin/sh with a fake curl that writes each argument and its stdin to
// files in `dir`.
curl_call run_in_shell(const std::string& command, const temp_dir& dir) {
    // In `dir`, so anything the envelope managed to run would leave its file there.
    const std::string fake_curl =
        "cd \"$D\" || exit 1\n"
        "curl() { i=0; for a in \"$@\"; do i=$((i+1)); printf '%s' \"$a\" > \"$D/arg$i\"; done; "
        "echo $i > \"$D/count\"; cat > \"$D/stdin\"; }\n";
    auto done = run_command({"/bin/sh",
                             {"-c", fake_curl + command},
                             {{"D", dir.path().string()}, {"HOME", dir.path().string()}},
                             "sh"},
                            10s);
    EXPECT_EQ(done.exit_status, 0) << done.err;
    curl_call call;
    const int count = std::stoi(read_file(dir / "count"));
    for (int i = 1; i <= count; ++i) {
        call.args.push_back(read_file(dir / ("arg" + std::to_string(i))));
    }
    call.stdin_bytes = read_file(dir / "stdin");
    return call;
}

std::string value_after(const curl_call& call, const std::string& option) {
    for (std::size_t i = 0; i + 1 < call.args.size(); ++i) {
        if (call.args[i] == option) {
            return call.args[i + 1];
        }
    }
    return "<no " + option + ">";
}

envelope::envelope hostile() {
    envelope::envelope e;
    e.id = "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11";
    e.received_at = "2026-11-26T18:00:00.123Z";
    e.method = "POST";
    e.uri = "/a/[1-3]/{x,y}?q='$(touch${IFS}pwned)'&h=~";
    e.http_version = "1.1";
    e.headers = {{"X-Quote", "it's $HOME `touch pwned` \\"},
                 {"User-Agent", "x\x1b]0;t\x07y\xc3\xa9"},
                 {"X-Empty", ""}};
    e.client_ip = "127.0.0.1";
    e.upstream = "127.0.0.1:3000";
    e.failure.kind = core::failure_kind::connect_error;
    return e;
}

std::string command_for(const envelope::envelope& e) {
    return replay::format_tail_line(replay::tail_format::curl, envelope::to_json(e), {0, 0},
                                    "http://127.0.0.1:3000");
}

TEST(TailCurlShell, PrintableBodyArrivesExactly) {
    temp_dir dir;
    auto e = hostile();
    e.body = "@/etc/hostname '; touch pwned; echo ' $(touch pwned) \\n";
    const auto call = run_in_shell(command_for(e), dir);
    EXPECT_EQ(value_after(call, "--data-raw"), e.body);
    EXPECT_EQ(value_after(call, "-X"), "POST");
    EXPECT_EQ(call.args.at(5), "http://127.0.0.1:3000" + e.uri);
    EXPECT_EQ(call.args.at(6), "-H");
    EXPECT_EQ(call.args.at(7), "X-Quote: " + e.headers[0].second);
    EXPECT_EQ(call.args.at(9), "User-Agent: " + e.headers[1].second);
    EXPECT_EQ(call.args.at(11), "X-Empty;");
    EXPECT_TRUE(call.stdin_bytes.empty());
    EXPECT_FALSE(std::filesystem::exists(dir / "pwned"));
}

TEST(TailCurlShell, BinaryBodyArrivesExactlyOnStdin) {
    temp_dir dir;
    auto e = hostile();
    std::string body;
    for (int c = 0; c < 256; ++c) {
        body += static_cast<char>(c);
    }
    e.body = body + "\n\n";  // trailing newlines too: a command substitution would drop them
    const auto call = run_in_shell(command_for(e), dir);
    EXPECT_EQ(value_after(call, "--data-binary"), "@-");
    EXPECT_EQ(call.stdin_bytes, e.body);
    EXPECT_FALSE(std::filesystem::exists(dir / "pwned"));
}

}  // namespace
}  // namespace spillway::test
