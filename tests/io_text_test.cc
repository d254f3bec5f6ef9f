// Trim and SplitLines (io/text.h), which the file parsers of datadir/ rely on.
#include "io/text.h"

#include <gtest/gtest.h>

namespace gb {
namespace {

TEST(TextTest, Trim) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim(" \n "), "");
  EXPECT_EQ(Trim("x"), "x");
}

TEST(TextTest, SplitLines) {
  EXPECT_EQ(SplitLines("a\r\nb\n\nc"), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(SplitLines("a\n"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(SplitLines("\n"), (std::vector<std::string>{""}));
  EXPECT_TRUE(SplitLines("").empty());
}

}  // namespace
}  // namespace gb
