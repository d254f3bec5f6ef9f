// The archive writer on a tree that changes while it is read: online backups record what
// changed or vanished, offline ones fail naming it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"
#include "datadir/tree_walker.h"
#include "tests/datadir_archive_util.h"

namespace gb {
namespace {

using namespace gb::testing;  // NOLINT: test helpers

// ---- online / offline: files that change or vanish while the archive is written ----------

// The walk lists a directory (and lstats its entries) before returning the first of them;
// the progress callback fires 16 MiB into "a-big", so what it does to the tree happens
// after the listing and while "a-big" is being read.
class ChangingTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = temp_ / "source";
    PutFile(source_ + "/a-big", Pattern(20 << 20, 5));
    PutFile(source_ + "/b-victim", "soon gone\n");
    PutFile(source_ + "/c-stable", "stays\n");
  }

  Result<ArchiveWriteStats> Write(bool online, std::function<void()> during_read) {
    ArchiveWriteOptions options = DefaultOptions(source_);
    options.online = online;
    bool fired = false;
    options.progress = [&](uint64_t) {
      if (!fired) during_read();
      fired = true;
    };
    sink_.mutable_bytes().clear();
    return WriteDataDirArchive(options, sink_);
  }

  TempDir temp_;
  std::string source_;
  StringSink sink_;
};

TEST_F(ChangingTreeTest, OnlineRecordsAVanishedFile) {
  auto stats = Write(true, [&] { fs::remove(source_ + "/b-victim"); });
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->vanished_while_read, std::vector<std::string>{"b-victim"});
  EXPECT_TRUE(stats->changed_while_read.empty());
  EXPECT_EQ(stats->entries, 2u);
  ShortReadSource source(sink_.bytes());
  auto scan = ScanArchive(source);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->entries, 2u);
}

TEST_F(ChangingTreeTest, OfflineFailsOnAVanishedFile) {
  auto stats = Write(false, [&] { fs::remove(source_ + "/b-victim"); });
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("b-victim"), std::string::npos)
      << stats.status().message();
}

TEST_F(ChangingTreeTest, OnlineRecordsAGrowingFile) {
  auto stats = Write(true, [&] {
    std::ofstream(source_ + "/a-big", std::ios::app) << "more";
  });
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->changed_while_read, std::vector<std::string>{"a-big"});
  ShortReadSource source(sink_.bytes());
  auto scan = ScanArchive(source);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->source_bytes, (20u << 20) + 10 + 6);  // as listed, not as grown
}

TEST_F(ChangingTreeTest, OnlineKeepsAShrunkFileAsLongAsItsHeader) {
  auto stats = Write(true, [&] { ASSERT_EQ(truncate((source_ + "/a-big").c_str(), 1000), 0); });
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->changed_while_read, std::vector<std::string>{"a-big"});
  const std::string destination = temp_ / "restored";
  fs::create_directory(destination);
  ShortReadSource source(sink_.bytes());
  auto scan = ExtractArchive(source, {destination, true});
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(fs::file_size(destination + "/a-big"), 20u << 20);
  EXPECT_EQ(ReadFile(destination + "/c-stable"), "stays\n");
}

TEST_F(ChangingTreeTest, OfflineFailsOnAChangedFile) {
  auto stats = Write(false, [&] {
    std::ofstream(source_ + "/a-big", std::ios::app) << "more";
  });
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("a-big changed while being read"), std::string::npos)
      << stats.status().message();
}

// The walk lists a directory before it returns its entries; the walker's test hook removes
// entries at the exact moments a busy DSS could: between readdir and stat, and before a
// listed directory is opened.
class VanishingEntryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = temp_ / "source";
    PutFile(source_ + "/config/keep.json", "k");
    PutFile(source_ + "/config/zz-237.json", "gone soon");
    PutFile(source_ + "/plugins/dev/plugin.json", "p");
  }
  void TearDown() override { SetWalkTestHook({}); }

  // By default only in the test's thread, the writer's walk: the read-ahead walks the tree
  // too. MeasureTree walks on threads of its own.
  void RemoveWhen(WalkStage when, std::string victim, bool any_thread = false) {
    const std::thread::id writer = std::this_thread::get_id();
    SetWalkTestHook([=](WalkStage stage, int, const char* name) {
      if (stage == when && name == victim &&
          (any_thread || std::this_thread::get_id() == writer)) {
        fs::remove_all(FindUnder(source_, victim));
      }
    });
  }

  static std::string FindUnder(const std::string& root, const std::string& name) {
    for (auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.path().filename() == name) return entry.path().string();
    }
    return root + "/" + name;
  }

  Result<ArchiveWriteStats> Write(bool online) {
    ArchiveWriteOptions options = DefaultOptions(source_);
    options.online = online;
    sink_.mutable_bytes().clear();
    return WriteDataDirArchive(options, sink_);
  }

  TempDir temp_;
  std::string source_;
  StringSink sink_;
};

TEST_F(VanishingEntryTest, OnlineRecordsAFileGoneBetweenReaddirAndStat) {
  RemoveWhen(WalkStage::kListed, "zz-237.json");
  auto stats = Write(true);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->vanished_while_read, std::vector<std::string>{"config/zz-237.json"});
  EXPECT_EQ(stats->entries, 5u);  // config, keep.json, plugins, dev, plugin.json
  ShortReadSource source(sink_.bytes());
  auto scan = ScanArchive(source);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->entries, 5u);
}

TEST_F(VanishingEntryTest, OnlineRecordsADirectoryGoneBeforeItIsOpened) {
  RemoveWhen(WalkStage::kOpeningDirectory, "dev");
  auto stats = Write(true);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->vanished_while_read, std::vector<std::string>{"plugins/dev"});
  EXPECT_EQ(stats->entries, 4u);
}

TEST_F(VanishingEntryTest, OfflineFailsNamingTheVanishedFile) {
  RemoveWhen(WalkStage::kListed, "zz-237.json");
  auto stats = Write(false);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("config/zz-237.json vanished"), std::string::npos)
      << stats.status().message();
  EXPECT_NE(stats.status().hint().find("DSS stopped"), std::string::npos);
}

// The pre-flight estimate runs before DSS is stopped, in every mode: a vanished file is
// left out of it, not an error.
TEST_F(VanishingEntryTest, TheEstimateSkipsAVanishedFile) {
  RemoveWhen(WalkStage::kListed, "zz-237.json", /*any_thread=*/true);
  auto estimate = EstimateDataDir(source_, {"tmp"});
  ASSERT_TRUE(estimate.ok()) << estimate.status().ToString();
  EXPECT_EQ(estimate->entries, 5u);
  EXPECT_EQ(estimate->bytes, 2u);
}

TEST(ArchiveWriterErrors, UnreadableFileIsAnErrorWithAHint) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir temp;
  PutFile(temp / "source/locked", "x", 0000);
  StringSink sink;
  ArchiveWriteOptions options;
  options.source_dir = temp / "source";
  auto stats = WriteDataDirArchive(options, sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("locked"), std::string::npos);
  EXPECT_FALSE(stats.status().hint().empty());
}

TEST(ArchiveWriterErrors, MissingSourceIsAnError) {
  TempDir temp;
  StringSink sink;
  ArchiveWriteOptions options;
  options.source_dir = temp / "nope";
  auto stats = WriteDataDirArchive(options, sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("nope"), std::string::npos);
  EXPECT_TRUE(sink.bytes().empty());
}

}  // namespace
}  // namespace gb
