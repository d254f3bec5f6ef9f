// The data-dir archive on real files: written with WriteDataDirArchive, read back by
// ScanArchive / ExtractArchive and by GNU tar, compared entry by entry with the source.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"
#include "io/zstd_file.h"
#include "tests/datadir_archive_util.h"

namespace gb {
namespace {

using namespace gb::testing;  // NOLINT: test helpers

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = temp_ / "source";
    fs::create_directories(source_);
    BuildTree(source_);
  }

  std::string WriteArchive() {
    StringSink sink;
    auto stats = WriteDataDirArchive(DefaultOptions(source_), sink);
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    if (stats.ok()) stats_ = *stats;
    return sink.bytes();
  }

  std::string SaveToFile(const std::string& bytes, const std::string& name) {
    const std::string path = temp_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  TempDir temp_;
  std::string source_;
  ArchiveWriteStats stats_;
};

TEST_F(ArchiveTest, WriterStatsMatchEstimateAndExclusions) {
  const std::string archive = WriteArchive();
  EXPECT_EQ(archive.size() % 512, 0u);  // unblocked: whole tar blocks, no 10 KiB record
  std::vector<std::string> excluded = stats_.excluded_present;
  std::sort(excluded.begin(), excluded.end());
  EXPECT_EQ(excluded, (std::vector<std::string>{"analysis-data", "tmp"}));
  EXPECT_TRUE(stats_.changed_while_read.empty());
  EXPECT_TRUE(stats_.vanished_while_read.empty());

  auto estimate = EstimateDataDir(source_, DefaultOptions(source_).exclude);
  ASSERT_TRUE(estimate.ok()) << estimate.status().ToString();
  EXPECT_EQ(estimate->entries, stats_.entries);
  EXPECT_EQ(estimate->bytes, stats_.source_bytes);
  std::map<std::string, uint64_t> excluded_sizes(estimate->excluded.begin(),
                                                 estimate->excluded.end());
  EXPECT_EQ(excluded_sizes, (std::map<std::string, uint64_t>{{"analysis-data", 12345},
                                                             {"tmp", 5000}}));

  // Every file, dir, link and fifo but the excluded ones, counted independently.
  const auto expected = Snapshot(source_, {"tmp", "analysis-data"});
  EXPECT_EQ(stats_.entries, expected.size());
  uint64_t bytes = 0;
  for (const auto& [name, node] : expected) {
    if (S_ISREG(node.mode) && name != "hard/second") bytes += node.content.size();
  }
  EXPECT_EQ(stats_.source_bytes, bytes);
}

TEST_F(ArchiveTest, GnuTarListsTheMembers) {
  const std::string path = SaveToFile(WriteArchive(), "data.tar");
  const std::string listing = RunCommand("LC_ALL=C.UTF-8 tar -tvf " + path);
  std::vector<std::string> names;
  std::istringstream lines(RunCommand("LC_ALL=C.UTF-8 tar -tf " + path));
  for (std::string line; std::getline(lines, line);) names.push_back(line);
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[0], ".govern-backup/");
  EXPECT_EQ(names[1], kPairMemberName);
  auto has = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  EXPECT_TRUE(has("config/general-settings.json"));
  EXPECT_TRUE(has("empty/"));
  EXPECT_TRUE(has("données/été ☀.txt"));
  EXPECT_TRUE(has("with space/file name.txt"));
  EXPECT_TRUE(has("deep/" + kLongDir + "/" + kLongDir + "/" + kLongDir + "/" + kLongDir +
                  "/leaf.txt"));
  EXPECT_TRUE(has("tmpfile-kept"));
  for (const std::string& name : names) {
    EXPECT_NE(name.rfind("tmp/", 0), 0u) << name;
    EXPECT_NE(name.rfind("analysis-data", 0), 0u) << name;
    EXPECT_NE(name.rfind("./", 0), 0u) << name;
  }
  // The pair folder and member first, the vanished list last.
  EXPECT_EQ(names.size(), stats_.entries + 3);
  EXPECT_EQ(names.back(), kVanishedMemberName);
  EXPECT_NE(listing.find("links/relative -> ../config/general-settings.json"), std::string::npos)
      << listing;
  EXPECT_NE(listing.find("hard/second link to hard/first"), std::string::npos) << listing;
  EXPECT_NE(listing.find("prw-r-----"), std::string::npos) << listing;
  EXPECT_NE(listing.find("drwx------"), std::string::npos) << listing;
  EXPECT_NE(listing.find("-rwxr-xr-x"), std::string::npos) << listing;
}

TEST_F(ArchiveTest, ExtractRestoresTheTree) {
  const std::string archive = WriteArchive();
  const std::string destination = temp_ / "restored";
  fs::create_directory(destination);
  ShortReadSource source(archive);
  auto scan = ExtractArchive(source, {destination, true});
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->entries, stats_.entries);
  EXPECT_EQ(scan->source_bytes, stats_.source_bytes);
  EXPECT_EQ(scan->pair_member, kPair);
  EXPECT_FALSE(fs::exists(destination + "/.govern-backup"));

  ExpectSameTree(Snapshot(source_, {"tmp", "analysis-data"}), Snapshot(destination, {}));
  EXPECT_EQ(Inode(destination + "/hard/first"), Inode(destination + "/hard/second"));
  EXPECT_NE(Inode(destination + "/hard/first"), Inode(source_ + "/hard/first"));
}

TEST_F(ArchiveTest, OwnersAreRestoredOnlyWhenAskedAsRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "only root can give files away";
  const std::string owned = source_ + "/config/general-settings.json";
  ASSERT_EQ(lchown(owned.c_str(), 65534, 65534), 0);
  ASSERT_EQ(lchown((source_ + "/links/dangling").c_str(), 65534, 65534), 0);
  const std::string archive = WriteArchive();
  for (bool restore_owners : {true, false}) {
    const std::string destination = temp_ / (restore_owners ? "owned" : "not-owned");
    fs::create_directory(destination);
    ShortReadSource source(archive);
    auto scan = ExtractArchive(source, {destination, restore_owners});
    ASSERT_TRUE(scan.ok()) << scan.status().ToString();
    struct stat st;
    ASSERT_EQ(lstat((destination + "/config/general-settings.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, restore_owners ? 65534u : 0u);
    ASSERT_EQ(lstat((destination + "/links/dangling").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, restore_owners ? 65534u : 0u);
    if (restore_owners) {
      ExpectSameTree(Snapshot(source_, {"tmp", "analysis-data"}), Snapshot(destination, {}));
    }
  }
}

TEST_F(ArchiveTest, GnuTarExtractsTheSameTree) {
  const std::string path = SaveToFile(WriteArchive(), "data.tar");
  const std::string destination = temp_ / "by-tar";
  fs::create_directory(destination);
  RunCommand("LC_ALL=C.UTF-8 tar -xpf " + path + " -C " + destination);
  ExpectSameTree(Snapshot(source_, {"tmp", "analysis-data"}),
                 Snapshot(destination, {".govern-backup"}));
  EXPECT_EQ(ReadFile(destination + "/" + kPairMemberName), kPair);
  EXPECT_EQ(Inode(destination + "/hard/first"), Inode(destination + "/hard/second"));
}

TEST_F(ArchiveTest, ScanReadsEverythingAndFindsThePair) {
  const std::string archive = WriteArchive();
  for (size_t chunk : {size_t{1} << 20, size_t{513}}) {
    ShortReadSource source(archive, chunk);
    auto scan = ScanArchive(source);
    ASSERT_TRUE(scan.ok()) << scan.status().ToString();
    EXPECT_EQ(scan->entries, stats_.entries);
    EXPECT_EQ(scan->source_bytes, stats_.source_bytes);
    EXPECT_EQ(scan->pair_member, kPair);
  }
}

TEST_F(ArchiveTest, ScanReadsAnArchiveMadeByGnuTar) {
  const std::string path = temp_ / "gnu.tar";
  RunCommand("tar --format=pax -cf " + path + " -C " + source_ + " config bin");
  ShortReadSource source(ReadFile(path));
  auto scan = ScanArchive(source);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->entries, 4u);
  EXPECT_EQ(scan->pair_member, "");
}

TEST_F(ArchiveTest, TruncatedArchivesAreErrors) {
  const std::string archive = WriteArchive();
  // Cut inside big.bin's data (600 kB: it is sparse).
  const size_t big = archive.find("big.bin");
  ASSERT_NE(big, std::string::npos);
  {
    ShortReadSource source(archive.substr(0, big + 400 * 1000));
    auto scan = ScanArchive(source);
    ASSERT_FALSE(scan.ok());
    EXPECT_EQ(scan.status().code(), Code::kFailed);
    EXPECT_NE(scan.status().message().find("big.bin"), std::string::npos)
        << scan.status().message();
  }
  // Cut exactly after the last member, before the end-of-archive blocks.
  {
    size_t end = archive.find_last_not_of('\0');
    end = (end / 512 + 1) * 512;
    ShortReadSource source(archive.substr(0, end));
    auto scan = ScanArchive(source);
    ASSERT_FALSE(scan.ok());
    EXPECT_NE(scan.status().message().find("truncated"), std::string::npos)
        << scan.status().message();
    const std::string destination = temp_ / "partial";
    fs::create_directory(destination);
    ShortReadSource again(archive.substr(0, end));
    EXPECT_FALSE(ExtractArchive(again, {destination, true}).ok());
  }
  {
    ShortReadSource source(std::string(100000, 'x'));
    EXPECT_FALSE(ScanArchive(source).ok());
  }
}

TEST_F(ArchiveTest, ExtractRefusesANonEmptyDestination) {
  const std::string archive = WriteArchive();
  const std::string destination = temp_ / "busy";
  PutFile(destination + "/already-here", "x");
  ShortReadSource source(archive);
  auto scan = ExtractArchive(source, {destination, true});
  ASSERT_FALSE(scan.ok());
  EXPECT_NE(scan.status().message().find("not empty"), std::string::npos) << scan.status().ToString();
  EXPECT_FALSE(IsUnsafeArchive(scan.status()));
  EXPECT_FALSE(fs::exists(destination + "/config"));
}

// The sink fails on the last batch, flushed when libarchive closes the archive.
TEST_F(ArchiveTest, SinkErrorsAreReportedAndNothingFollowsThem) {
  FailingSink sink(300 * 1000);
  auto stats = WriteDataDirArchive(DefaultOptions(source_), sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("no space left on device"), std::string::npos)
      << stats.status().message();
  EXPECT_EQ(sink.writes_after_failure, 1);
}

TEST_F(ArchiveTest, ThroughZstdFiles) {
  const std::string path = temp_ / "data.tar.zst";
  {
    auto writer = ZstdFileWriter::Create(path, {});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    auto stats = WriteDataDirArchive(DefaultOptions(source_), **writer);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    stats_ = *stats;
    ASSERT_TRUE((*writer)->Finish().ok());
  }
  const std::string listing = RunCommand("zstd -dc " + path + " | tar -tf - | wc -l");
  EXPECT_EQ(std::stoul(listing), stats_.entries + 3);

  auto reader = ZstdFileReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const std::string destination = temp_ / "restored";
  fs::create_directory(destination);
  auto scan = ExtractArchive(**reader, {destination, true});
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->entries, stats_.entries);
  EXPECT_EQ(scan->pair_member, kPair);
  ExpectSameTree(Snapshot(source_, {"tmp", "analysis-data"}), Snapshot(destination, {}));
}

}  // namespace
}  // namespace gb
