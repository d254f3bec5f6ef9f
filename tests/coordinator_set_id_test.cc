// Set ids sort in the order the sets were taken, also within one second and after the clock
// stepped back (the parent choice, list and prune read id order as time order).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "coordinator/repository.h"
#include "coordinator/time_format.h"

namespace gb {
namespace {

TimePoint At(std::time_t seconds) { return std::chrono::system_clock::from_time_t(seconds); }

TEST(SetIdTest, FirstIdIsTheTimeAndARandomSuffix) {
  const std::string id = Repository::NewSetId(At(1795000000));
  EXPECT_TRUE(Repository::LooksLikeSetId(id)) << id;
  EXPECT_EQ(id.substr(0, 16), FormatCompact(At(1795000000)));
}

TEST(SetIdTest, IdsOfOneSecondSortInTheOrderTheyWereMade) {
  std::string newest = FormatCompact(At(1795000000)) + "-ff0000";
  for (int i = 0; i < 2000; ++i) {
    const std::string id = Repository::NewSetId(At(1795000000), newest);
    ASSERT_TRUE(Repository::LooksLikeSetId(id)) << id;
    ASSERT_GT(id, newest);
    newest = id;
  }
  // 2000 steps of at most 4096 from 0xff0000 run out of suffixes: the ids moved on a second.
  EXPECT_EQ(newest.substr(0, 16), FormatCompact(At(1795000001)));
}

TEST(SetIdTest, AnIdAfterTheClockSteppedBackStillSortsLast) {
  const std::string future = FormatCompact(At(1795000100)) + "-000010";
  const std::string id = Repository::NewSetId(At(1795000000), future);
  EXPECT_GT(id, future);
  EXPECT_EQ(id.substr(0, 16), future.substr(0, 16));
}

TEST(SetIdTest, AnOlderNewestIdDoesNotChangeTheTime) {
  const std::string older = FormatCompact(At(1794999999)) + "-ffffff";
  EXPECT_EQ(Repository::NewSetId(At(1795000000), older).substr(0, 16),
            FormatCompact(At(1795000000)));
}

}  // namespace
}  // namespace gb
