// log_escaped: what every logged field from outside goes through.

#include "spillway/core/text.hpp"

#include <gtest/gtest.h>

namespace spillway::core {
namespace {

TEST(LogEscaped, ControlBytesQuotesAndBackslashes) {
    EXPECT_EQ(log_escaped("GET"), "GET");
    EXPECT_EQ(log_escaped("a\nb\r\tc"), "a\\nb\\r\\tc");
    EXPECT_EQ(log_escaped("\x1b[2J\x07"), "\\u001b[2J\\u0007");
    EXPECT_EQ(log_escaped(std::string("nul\0end", 7)), "nul\\u0000end");
    EXPECT_EQ(log_escaped("say \"hi\" \\o/"), "say \\\"hi\\\" \\\\o/");
    EXPECT_EQ(log_escaped("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 stays readable
}

// Whatever goes in, nothing that ends a line or starts an escape sequence comes out.
TEST(LogEscaped, NoControlByteSurvives) {
    std::string all;
    for (int c = 0; c < 256; ++c) {
        all += static_cast<char>(c);
    }
    for (unsigned char c : log_escaped(all)) {
        EXPECT_GE(c, 0x20) << "control byte " << int(c) << " left raw";
    }
}

}  // namespace
}  // namespace spillway::core
