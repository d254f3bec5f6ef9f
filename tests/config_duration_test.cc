// ParseDuration: the durations of retention.keep_within and audit --max-age.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/config.h"

namespace gb {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDurationTest, EachUnit) {
  EXPECT_EQ(*ParseDuration("30s"), seconds(30));
  EXPECT_EQ(*ParseDuration("90m"), minutes(90));
  EXPECT_EQ(*ParseDuration("12h"), hours(12));
  EXPECT_EQ(*ParseDuration("4d"), hours(96));
  EXPECT_EQ(*ParseDuration("2w"), hours(14 * 24));
}

TEST(ParseDurationTest, UnitsCombine) {
  EXPECT_EQ(*ParseDuration("1d12h"), hours(36));
  EXPECT_EQ(*ParseDuration("1w1d1h1m1s"), seconds(8 * 86400 + 3600 + 60 + 1));
}

TEST(ParseDurationTest, ZeroMeansNone) {
  EXPECT_EQ(*ParseDuration("0d"), seconds(0));
  EXPECT_EQ(*ParseDuration("0s"), seconds(0));
}

TEST(ParseDurationTest, GarbageIsAUsageErrorQuotingTheText) {
  for (const char* text : {"4x", "4", "", "d", "4 d", " 4d", "4d ", "-4d", "4.5d", "4D", "1d12",
                           "99999999999999999999s", "9999999999999999w"}) {
    auto duration = ParseDuration(text);
    ASSERT_FALSE(duration.ok()) << "'" << text << "' parsed as " << duration->count() << "s";
    EXPECT_EQ(duration.status().code(), Code::kUsage);
    EXPECT_EQ(duration.status().message(),
              std::string("invalid duration '") + text +
                  "': use a number followed by s, m, h, d or w");
  }
}

}  // namespace
}  // namespace gb
