// The archiver's scratch (archive_spill.h): entries spilled in frames come back exactly, and a
// cursor passing below a directory steps over whole frames of it unread, yet glimpses every
// gone marker the second pass must list; PathIsUnder, the one "lies under" of the tree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "datadir/archive_spill.h"
#include "datadir/file_index.h"

namespace gb {
namespace {

TEST(PathIsUnderTest, StrictlyBelowByWholeComponents) {
  EXPECT_TRUE(PathIsUnder("a/b", "a"));
  EXPECT_TRUE(PathIsUnder("a/b/c", "a/b"));
  EXPECT_TRUE(PathIsUnder("a", ""));
  EXPECT_FALSE(PathIsUnder("a", "a"));
  EXPECT_FALSE(PathIsUnder("a-b", "a"));
  EXPECT_FALSE(PathIsUnder("ab/c", "a"));
  EXPECT_FALSE(PathIsUnder("a", "a/b"));
  EXPECT_FALSE(PathIsUnder("b/a", "a"));
}

// A file entry with every field set, distinct per `n`.
FileIndexEntry FullEntry(const std::string& path, uint64_t n) {
  FileIndexEntry e;
  e.path = path;
  e.type = n % 3 == 0 ? "symlink" : "file";
  e.user = "user" + std::to_string(n % 7);
  e.group = "group" + std::to_string(n % 5);
  e.link_target = n % 3 == 0 ? "target-" + std::to_string(n) : "";
  e.sha256 = std::string(64, static_cast<char>('a' + n % 6));
  e.set_id = "set-" + std::to_string(n % 4);
  e.mode = 0100000u | static_cast<uint32_t>(n % 0777);
  e.uid = 1000 + n;
  e.gid = 2000 + n;
  e.size = n * 13;
  e.mtime_ns = static_cast<int64_t>(1700000000000000000ull + n);
  e.ctime_ns = static_cast<int64_t>(1700000000000000001ull + n);
  e.inode = 500000 + n;
  e.racy = n % 2 == 1;
  e.offset = n * 1024;
  e.length = 1024 + n;
  return e;
}

std::string Name(const char* prefix, int n) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%s%05d", prefix, n);
  return buffer;
}

// "big" holds many frames of records, with one gone marker listed (its parent was a
// directory) and one not, in its middle; "next" follows it.
std::unique_ptr<EntrySpill> BigSpill(std::vector<FileIndexEntry>& added) {
  auto spill = EntrySpill::Create("a test spill");
  EXPECT_TRUE(spill.ok()) << spill.status().ToString();
  auto add = [&](const FileIndexEntry& e) {
    added.push_back(e);
    EXPECT_TRUE((*spill)->Add(e).ok());
  };
  FileIndexEntry big = FullEntry("big", 0);
  big.type = "dir";
  add(big);
  for (int i = 0; i < 6000; ++i) {
    add(FullEntry(Name("big/f", i), i + 1));
    if (i == 3000) {
      EXPECT_TRUE((*spill)->AddGone(Name("big/f", i) + "-gone-listed", true).ok());
      EXPECT_TRUE((*spill)->AddGone(Name("big/f", i) + "-gone-not-listed", false).ok());
    }
  }
  add(FullEntry("next", 99));
  EXPECT_TRUE((*spill)->Finish().ok());
  return std::move(*spill);
}

TEST(EntrySpillTest, EveryFieldComesBackAcrossFrames) {
  std::vector<FileIndexEntry> added;
  std::unique_ptr<EntrySpill> spill = BigSpill(added);
  auto next = spill->Reader();
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  size_t i = 0;
  FileIndexEntry entry;
  for (;;) {
    auto more = (*next)(entry);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    if (IsGoneMarker(entry.type)) continue;
    ASSERT_LT(i, added.size());
    EXPECT_EQ(entry.ToJson(), added[i].ToJson()) << entry.path;
    EXPECT_EQ(entry.racy, added[i].racy) << entry.path;
    ++i;
  }
  EXPECT_EQ(i, added.size());
  EXPECT_EQ(spill->entries(), added.size() + 2);
}

TEST(EntrySpillTest, PassingBelowStepsOverFramesButNotOverAListedGoneMarker) {
  std::vector<FileIndexEntry> added;
  std::unique_ptr<EntrySpill> spill = BigSpill(added);
  auto cursor = spill->Cursor("the test cursor");
  ASSERT_TRUE(cursor.ok()) << cursor.status().ToString();
  const auto none = [](const FileIndexEntry& e) -> Status {
    return Status::Failed("passed " + e.path);
  };
  auto big = (*cursor)->Seek("big", none);
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  ASSERT_NE(*big, nullptr);
  std::vector<std::pair<std::string, std::string>> glimpsed;
  Status passed = (*cursor)->PassBelow("big", [&](std::string_view path, std::string_view type) {
    glimpsed.emplace_back(path, type);
    return Status::Ok();
  });
  ASSERT_TRUE(passed.ok()) << passed.ToString();
  // Whole frames went unread: far fewer glimpsed than the 6002 entries below.
  EXPECT_LT(glimpsed.size(), 3000u);
  const std::pair<std::string, std::string> listed(Name("big/f", 3000) + "-gone-listed",
                                                   kGoneInDirectoryEntryType);
  EXPECT_EQ(std::count(glimpsed.begin(), glimpsed.end(), listed), 1);
  for (const auto& [path, type] : glimpsed) EXPECT_TRUE(PathIsUnder(path, "big")) << path;
  auto next = (*cursor)->Seek("next", none);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_NE(*next, nullptr);
  EXPECT_EQ((*next)->ToJson(), added.back().ToJson());
}

// Without the spill's way to skip (a parent's index), passing below reads every entry.
TEST(IndexCursorTest, PassingBelowAStreamWithoutSkipGlimpsesEveryEntry) {
  std::vector<FileIndexEntry> added;
  std::unique_ptr<EntrySpill> spill = BigSpill(added);
  auto reader = spill->Reader();
  ASSERT_TRUE(reader.ok());
  IndexCursor cursor(*reader, "the test stream");
  const auto none = [](const FileIndexEntry& e) -> Status {
    return Status::Failed("passed " + e.path);
  };
  ASSERT_TRUE(cursor.Seek("big", none).ok());
  size_t glimpsed = 0;
  ASSERT_TRUE(cursor.PassBelow("big", [&](std::string_view, std::string_view) {
                      ++glimpsed;
                      return Status::Ok();
                    }).ok());
  EXPECT_EQ(glimpsed, 6002u);
  auto next = cursor.Seek("next", none);
  ASSERT_TRUE(next.ok());
  ASSERT_NE(*next, nullptr);
}

}  // namespace
}  // namespace gb
