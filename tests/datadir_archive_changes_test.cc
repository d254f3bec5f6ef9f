// The archive writer on a tree that changes while it is read: online backups record what
// changed or vanished, offline ones fail naming it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"
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
    WriteFile(source_ + "/a-big", Pattern(20 << 20, 5));
    WriteFile(source_ + "/b-victim", "soon gone\n");
    WriteFile(source_ + "/c-stable", "stays\n");
  }

  Result<ArchiveWriteStats> Write(bool online, std::function<void()> during_read) {
    ArchiveWriteOptions options = DefaultOptions(source_);
    options.online = online;
    bool fired = false;
    options.progress = [&](uint64_t) {
      if (!fired) during_read();
      fired = true;
    };
    sink_.bytes.clear();
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
  StringSource source(sink_.bytes);
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
  StringSource source(sink_.bytes);
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
  StringSource source(sink_.bytes);
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

TEST(ArchiveWriterErrors, UnreadableFileIsAnErrorWithAHint) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir temp;
  WriteFile(temp / "source/locked", "x", 0000);
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
  EXPECT_TRUE(sink.bytes.empty());
}

}  // namespace
}  // namespace gb
