// EntryPrefetcher: a stream of index entries read ahead on a thread, handed out in order, its
// error where it happened, its read-ahead bounded, and a stop at any point without a hang.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "datadir/entry_prefetcher.h"

namespace gb {
namespace {

// Entries "p0", "p1", ... up to `count`, then the end, or `error` after `count` if set.
EntryPrefetcher::NextFn Numbered(int count, std::atomic<int>* calls, Status error = Status::Ok()) {
  return [count, calls, error, i = 0](FileIndexEntry& entry) mutable -> Result<bool> {
    ++*calls;
    if (i == count) {
      if (!error.ok()) return error;
      return false;
    }
    entry = FileIndexEntry{};
    entry.path = "p" + std::to_string(i++);
    entry.size = static_cast<uint64_t>(i);
    return true;
  };
}

TEST(EntryPrefetcher, HandsOutEveryEntryInOrderAcrossBatchesThenTheEnd) {
  std::atomic<int> calls{0};
  EntryPrefetcher ahead(Numbered(1000, &calls), 7, 2);
  FileIndexEntry entry;
  for (int i = 0; i < 1000; ++i) {
    Result<bool> more = ahead.Next(entry);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    ASSERT_TRUE(*more) << "ended after " << i << " entries";
    ASSERT_EQ(entry.path, "p" + std::to_string(i));
    ASSERT_EQ(entry.size, static_cast<uint64_t>(i + 1));
  }
  for (int again = 0; again < 2; ++again) {
    Result<bool> more = ahead.Next(entry);
    ASSERT_TRUE(more.ok());
    EXPECT_FALSE(*more);
  }
  EXPECT_EQ(calls.load(), 1001) << "the stream is read once, to its end and no further";
}

TEST(EntryPrefetcher, AnEmptyStreamEndsAtOnce) {
  std::atomic<int> calls{0};
  EntryPrefetcher ahead(Numbered(0, &calls));
  FileIndexEntry entry;
  Result<bool> more = ahead.Next(entry);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST(EntryPrefetcher, TheStreamsErrorComesAfterEveryEntryBeforeIt) {
  std::atomic<int> calls{0};
  EntryPrefetcher ahead(Numbered(10, &calls, Status::Failed("frame 3 of the index is damaged")), 4, 2);
  FileIndexEntry entry;
  for (int i = 0; i < 10; ++i) {
    Result<bool> more = ahead.Next(entry);
    ASSERT_TRUE(more.ok() && *more) << i;
    EXPECT_EQ(entry.path, "p" + std::to_string(i));
  }
  for (int again = 0; again < 2; ++again) {
    Result<bool> more = ahead.Next(entry);
    ASSERT_FALSE(more.ok());
    EXPECT_EQ(more.status().message(), "frame 3 of the index is damaged");
  }
  EXPECT_EQ(calls.load(), 11);
}

// Memory stays bounded whatever the stream's size: no more than the batches waiting plus the
// one being filled are read ahead of what was taken.
TEST(EntryPrefetcher, ReadsNoFurtherAheadThanItsBatches) {
  std::atomic<int> calls{0};
  constexpr int kBatch = 5;
  constexpr int kBatches = 3;
  EntryPrefetcher ahead(Numbered(1000000, &calls), kBatch, kBatches);
  FileIndexEntry entry;
  ASSERT_TRUE(*ahead.Next(entry));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // It fills up: one batch taken, kBatches waiting, one more read and held back.
  while (calls.load() < kBatch * (kBatches + 2) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), kBatch * (kBatches + 2));
}

// A pass that fails half-way destroys the prefetcher with the stream unread: its thread stops
// whether it waits for room or is inside a call of the stream.
TEST(EntryPrefetcher, StopsWhereverItIsWhenDestroyed) {
  std::atomic<int> calls{0};
  {
    EntryPrefetcher full(Numbered(1000000, &calls), 3, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::atomic<bool> inside{false};
  const auto started = std::chrono::steady_clock::now();
  {
    EntryPrefetcher slow([&inside](FileIndexEntry& entry) -> Result<bool> {
      inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      entry.path = "slow";
      return true;
    });
    while (!inside) std::this_thread::yield();
  }
  // The call under way ends; the 511 more a batch wants (51 s) are not made.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

}  // namespace
}  // namespace gb
