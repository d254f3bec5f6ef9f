// The seek table's bytes against the zstd seekable format spec (contrib/seekable_format,
// v0.1.0), written out by hand, and the ordered worker pool the seekable halves run on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "io/ordered_workers.h"
#include "io/seek_table.h"

namespace gb {
namespace {

std::string Bytes(std::initializer_list<unsigned> values) {
  std::string out;
  for (unsigned value : values) out.push_back(static_cast<char>(value));
  return out;
}

TEST(SeekTable, EncodesTheSpecLayout) {
  std::vector<SeekableFrame> frames = {{0, 0, 65, 0}, {65, 0, 0x01020304, 0x00100000}};
  const std::string expected = Bytes({
      0x5E, 0x2A, 0x4D, 0x18,  // Skippable_Magic_Number 0x184D2A5E
      0x19, 0x00, 0x00, 0x00,  // Frame_Size: 2 entries * 8 + 9-byte footer = 25
      0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // identity frame: 65 bytes, no content
      0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x10, 0x00,  // data frame
      0x02, 0x00, 0x00, 0x00,  // Number_Of_Frames
      0x00,                    // Seek_Table_Descriptor: no checksums
      0xB1, 0xEA, 0x92, 0x8F,  // Seekable_Magic_Number 0x8F92EAB1
  });
  EXPECT_EQ(EncodeSeekTable(frames), expected);
}

TEST(SeekTable, ParsesEntriesWithChecksumsAndComputesOffsets) {
  const std::string table = Bytes({
      0x5E, 0x2A, 0x4D, 0x18, 0x21, 0x00, 0x00, 0x00,  // 2 * 12 + 9 = 33
      0x10, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0xAA, 0xBB, 0xCC, 0xDD,
      0x20, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44,
      0x02, 0x00, 0x00, 0x00, 0x80, 0xB1, 0xEA, 0x92, 0x8F,
  });
  auto parsed = ParseSeekTable(table, 0x30 + table.size(), "f.zst");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(parsed->has_checksums);
  ASSERT_EQ(parsed->frames.size(), 2u);
  EXPECT_EQ(parsed->frames[1].compressed_offset, 0x10u);
  EXPECT_EQ(parsed->frames[1].decompressed_offset, 0x100u);
  EXPECT_EQ(parsed->frames[1].compressed_size, 0x20u);
  EXPECT_EQ(parsed->compressed_size, 0x30u);
  EXPECT_EQ(parsed->decompressed_size, 0x300u);

  // The same table in a file with one more byte before it: the frames no longer add up.
  EXPECT_FALSE(ParseSeekTable(table, 0x31 + table.size(), "f.zst").ok());
  std::string wrong_frame_size = table;
  wrong_frame_size[4] = 0x22;
  EXPECT_FALSE(ParseSeekTable(wrong_frame_size, 0x30 + table.size(), "f.zst").ok());
}

TEST(OrderedWorkers, ResultsComeBackInSubmissionOrder) {
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  OrderedWorkers workers(3, 5, [&](int, uint64_t sequence, std::string& input, std::string* out) {
    int now = ++running;
    for (int seen = most_running; now > seen && !most_running.compare_exchange_weak(seen, now);) {
    }
    // Uneven work, so later jobs often finish before earlier ones.
    std::string work = input;
    for (uint64_t i = 0; i < (sequence % 5) * 20000; ++i) work[i % work.size()] ^= 1;
    *out = input + "/" + std::to_string(sequence);
    --running;
    if (sequence == 13) return Status::Failed("job 13 failed");
    return Status::Ok();
  });
  uint64_t submitted = 0;
  for (uint64_t taken = 0; taken < 40; ++taken) {
    while (submitted < 40 && !workers.full()) workers.Submit("job" + std::to_string(submitted++));
    EXPECT_LE(workers.in_flight(), 5u);
    Result<std::string> result = workers.Next();
    if (taken == 13) {
      EXPECT_FALSE(result.ok());
      continue;
    }
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(*result, "job" + std::to_string(taken) + "/" + std::to_string(taken));
  }
  EXPECT_LE(most_running.load(), 4);  // 3 workers and this thread
}

TEST(OrderedWorkers, WithoutWorkerThreadsTheOwnerRunsTheJobs) {
  const std::thread::id owner = std::this_thread::get_id();
  OrderedWorkers workers(0, 2, [&](int worker, uint64_t, std::string& input, std::string* out) {
    EXPECT_EQ(worker, 0);
    EXPECT_EQ(std::this_thread::get_id(), owner);
    *out = input + "!";
    return Status::Ok();
  });
  workers.Submit("a");
  workers.Submit("b");
  EXPECT_TRUE(workers.full());
  EXPECT_EQ(*workers.Next(), "a!");
  EXPECT_EQ(*workers.Next(), "b!");
}

// While the one worker runs the job Next() waits for, the owner leaves the worker its next
// job when only one is queued (else the worker would sit idle once done), and takes one when
// two are.
TEST(OrderedWorkers, TheOwnerLeavesTheWorkerItsNextJob) {
  // Only what the owner runs while the worker holds job 0 counts: once it is released, the
  // owner rightly takes the job it waits for when the worker has not picked it up yet.
  for (const int queued : {1, 2}) {
    std::atomic<bool> started{false};
    std::atomic<bool> release{false};
    std::atomic<int> ran_by_owner_during_hold{0};
    OrderedWorkers workers(1, 4, [&](int worker, uint64_t sequence, std::string&, std::string* out) {
      if (sequence == 0) {
        started = true;
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (worker == 1 && !release) ++ran_by_owner_during_hold;
      *out = std::to_string(sequence);
      return Status::Ok();
    });
    workers.Submit("0");
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (int i = 1; i <= queued; ++i) workers.Submit(std::to_string(i));
    // With one queued the owner must leave it alone for the whole hold; with two it must take
    // one, and the hold ends as soon as it has (or after 10 s, failing below).
    std::thread releaser([&] {
      const auto deadline = std::chrono::steady_clock::now() +
                            std::chrono::milliseconds(queued == 1 ? 200 : 10000);
      while (std::chrono::steady_clock::now() < deadline && ran_by_owner_during_hold == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      release = true;
    });
    EXPECT_EQ(*workers.Next(), "0");
    releaser.join();
    for (int i = 1; i <= queued; ++i) EXPECT_EQ(*workers.Next(), std::to_string(i));
    EXPECT_EQ(ran_by_owner_during_hold.load(), queued == 1 ? 0 : 1) << queued << " queued";
  }
}

TEST(OrderedWorkers, AnInputAJobIsDoneWithComesBackEmptyWithItsStorage) {
  OrderedWorkers workers(1, 3, [](int, uint64_t, std::string& input, std::string* out) {
    *out = input.substr(0, 3);
    return Status::Ok();
  });
  EXPECT_EQ(workers.SpareInput().capacity(), std::string().capacity());  // none done yet
  std::string input(1 << 20, 'x');
  workers.Submit(std::move(input));
  EXPECT_EQ(*workers.Next(), "xxx");
  std::string spare = workers.SpareInput();
  EXPECT_TRUE(spare.empty());
  EXPECT_GE(spare.capacity(), 1u << 20);
  // Only one is kept: a second input done with is freed.
  workers.Submit(std::string(1 << 20, 'y'));
  workers.Submit(std::string(1 << 20, 'z'));
  EXPECT_EQ(*workers.Next(), "yyy");
  EXPECT_EQ(*workers.Next(), "zzz");
  EXPECT_GE(workers.SpareInput().capacity(), 1u << 20);
  EXPECT_EQ(workers.SpareInput().capacity(), std::string().capacity());
}

TEST(OrderedWorkers, StopsWithJobsStillQueued) {
  OrderedWorkers workers(1, 10, [](int, uint64_t, std::string& input, std::string* out) {
    *out = input;
    return Status::Ok();
  });
  for (int i = 0; i < 10; ++i) workers.Submit(std::string(1000, 'x'));
  // Destroyed here without taking the results: must not hang or leak.
}

}  // namespace
}  // namespace gb
