// Line framing of the control listener: whole lines whatever the reads, and a line over the
// bound ends the connection without the listener holding more than the bound.

#include "spillway/devbroker/control_lines.hpp"

#include <gtest/gtest.h>

#include <string>

namespace spillway::devbroker {
namespace {

TEST(ControlLines, ReturnsWholeLinesAcrossReads) {
    control_lines lines;
    lines.feed("sta");
    EXPECT_FALSE(lines.next_line());
    lines.feed("tus\r\nhelp\ndown");
    EXPECT_EQ(lines.next_line(), "status\r");
    EXPECT_EQ(lines.next_line(), "help");
    EXPECT_FALSE(lines.next_line());
    lines.feed(" 1\n\n");
    EXPECT_EQ(lines.next_line(), "down 1");
    EXPECT_EQ(lines.next_line(), "");
    EXPECT_FALSE(lines.next_line());
    EXPECT_FALSE(lines.overflowed());
}

TEST(ControlLines, ALineOfExactlyTheBoundIsAccepted) {
    control_lines lines;
    const std::string line(control_lines::max_line_bytes, 'a');
    lines.feed(line + "\n");
    EXPECT_EQ(lines.next_line(), line);
    EXPECT_FALSE(lines.overflowed());
}

TEST(ControlLines, ALongerLineOverflowsButTheLinesBeforeItAreReturned) {
    control_lines lines;
    lines.feed("status\n" + std::string(control_lines::max_line_bytes + 1, 'a') + "\nhelp\n");
    EXPECT_EQ(lines.next_line(), "status");
    EXPECT_FALSE(lines.next_line());
    EXPECT_TRUE(lines.overflowed());
    EXPECT_FALSE(lines.next_line());  // nothing after it, ever
}

TEST(ControlLines, AnUnfinishedLineOverflowsAsSoonAsItPassesTheBound) {
    control_lines lines;
    for (int i = 0; i < 4; ++i) {
        lines.feed(std::string(256, 'a'));
        EXPECT_FALSE(lines.next_line());
        EXPECT_FALSE(lines.overflowed());
    }
    lines.feed("a");
    EXPECT_FALSE(lines.next_line());
    EXPECT_TRUE(lines.overflowed());
    lines.feed("\nstatus\n");  // ignored once overflowed
    EXPECT_FALSE(lines.next_line());
}

}  // namespace
}  // namespace spillway::devbroker
