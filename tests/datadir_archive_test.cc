// The data-dir archive on real files: written with WriteDataDirArchive, read back by
// ScanArchive / ExtractArchive and by GNU tar, compared entry by entry with the source.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"
#include "io/zstd_file.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

class StringSink : public ByteSink {
 public:
  Status Write(const void* data, size_t size) override {
    bytes.append(static_cast<const char*>(data), size);
    return Status::Ok();
  }
  std::string bytes;
};

// Hands out at most `chunk` bytes per Read, like a pipe would.
class StringSource : public ByteSource {
 public:
  StringSource(std::string bytes, size_t chunk = 7919) : bytes_(std::move(bytes)), chunk_(chunk) {}
  Result<size_t> Read(void* buffer, size_t capacity) override {
    size_t n = std::min({capacity, chunk_, bytes_.size() - offset_});
    std::memcpy(buffer, bytes_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t chunk_;
  size_t offset_ = 0;
};

// Accepts `limit` bytes, then fails like a full disk.
class FailingSink : public ByteSink {
 public:
  explicit FailingSink(size_t limit) : limit_(limit) {}
  Status Write(const void* data, size_t size) override {
    if (received + size > limit_) {
      ++writes_after_failure;
      return Status::Failed("test sink: no space left on device");
    }
    received += size;
    return Status::Ok();
  }
  size_t received = 0;
  int writes_after_failure = 0;

 private:
  size_t limit_;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "gb-archive-test-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    // Read-only directories of the trees must become writable before they can be emptied.
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0700);
    }
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  return output;
}

std::string Pattern(size_t size, unsigned seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed * 7 + i / 977) & 0xff);
  return out;
}

const std::string kLongDir = std::string(60, 'd');  // four levels: > 255 characters

// A data dir with every kind of entry the archive must keep.
void BuildTree(const std::string& root) {
  WriteFile(root + "/config/general-settings.json", "{\"x\": 1}\n", 0600);
  WriteFile(root + "/bin/dss", "#!/bin/sh\necho dss\n", 0755);
  fs::create_directories(root + "/empty");
  WriteFile(root + "/private/secret.txt", "secret\n", 0600);
  ASSERT_EQ(chmod((root + "/private").c_str(), 0700), 0);
  fs::create_directories(root + "/links");
  fs::create_symlink("../config/general-settings.json", root + "/links/relative");
  fs::create_symlink("/etc/hostname", root + "/links/absolute");
  fs::create_symlink("does-not-exist", root + "/links/dangling");
  WriteFile(root + "/hard/first", "linked content\n");
  ASSERT_EQ(link((root + "/hard/first").c_str(), (root + "/hard/second").c_str()), 0);
  ASSERT_EQ(mkfifo((root + "/run.fifo").c_str(), 0640), 0);
  WriteFile(root + "/données/été ☀.txt", "utf-8\n");
  WriteFile(root + "/with space/file name.txt", "spaces\n");
  WriteFile(root + "/" + std::string(120, 'n') + ".txt", "long name\n");
  WriteFile(root + "/deep/" + kLongDir + "/" + kLongDir + "/" + kLongDir + "/" + kLongDir +
                "/leaf.txt",
            "deep\n");
  {
    // Mostly holes, with data at both ends and across a 1 MiB read boundary.
    const std::string big = root + "/big.bin";
    int fd = open(big.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    const std::string chunk = Pattern(300000, 1);
    ASSERT_EQ(pwrite(fd, chunk.data(), chunk.size(), 0), (ssize_t)chunk.size());
    ASSERT_EQ(pwrite(fd, chunk.data(), chunk.size(), (1 << 20) - 1000), (ssize_t)chunk.size());
    ASSERT_EQ(ftruncate(fd, 9 * 1000 * 1000 + 17), 0);
    close(fd);
  }
  WriteFile(root + "/empty-file", "");
  WriteFile(root + "/tmp/scratch", Pattern(5000, 2));
  WriteFile(root + "/analysis-data/model.bin", Pattern(12345, 3));
  WriteFile(root + "/tmpfile-kept", "not excluded: only exact names are\n");

  // Fixed, distinct mtimes, children before their directories.
  std::vector<fs::path> paths;
  for (auto& e : fs::recursive_directory_iterator(root)) paths.push_back(e.path());
  std::sort(paths.rbegin(), paths.rend());
  time_t when = 1600000000;
  for (const fs::path& p : paths) {
    struct timespec times[2] = {{when, 0}, {when, 0}};
    when += 3600;
    ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << p;
  }
}

struct NodeInfo {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  time_t mtime = 0;
  std::string content;  // file bytes or symlink target
  bool operator==(const NodeInfo& o) const {
    return mode == o.mode && uid == o.uid && gid == o.gid && mtime == o.mtime &&
           content == o.content;
  }
};

std::ostream& operator<<(std::ostream& out, const NodeInfo& n) {
  return out << "mode " << std::oct << n.mode << std::dec << " uid " << n.uid << " gid " << n.gid
             << " mtime " << n.mtime << " content " << n.content.size() << " bytes";
}

// Everything tar should keep, keyed by relative path; `skip` top-level names are left out.
std::map<std::string, NodeInfo> Snapshot(const std::string& root,
                                         const std::vector<std::string>& skip) {
  std::map<std::string, NodeInfo> nodes;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string relative = it->path().lexically_relative(root).string();
    if (it.depth() == 0 &&
        std::find(skip.begin(), skip.end(), it->path().filename().string()) != skip.end()) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st;
    EXPECT_EQ(lstat(it->path().c_str(), &st), 0);
    NodeInfo node;
    node.mode = st.st_mode;
    node.uid = st.st_uid;
    node.gid = st.st_gid;
    if (S_ISLNK(st.st_mode)) {
      node.content = fs::read_symlink(it->path()).string();
    } else {
      node.mtime = st.st_mtime;
      if (S_ISREG(st.st_mode)) node.content = ReadFile(it->path());
    }
    nodes[relative] = node;
  }
  return nodes;
}

void ExpectSameTree(const std::map<std::string, NodeInfo>& expected,
                    const std::map<std::string, NodeInfo>& actual) {
  for (const auto& [name, node] : expected) {
    auto it = actual.find(name);
    if (it == actual.end()) {
      ADD_FAILURE() << "missing after extraction: " << name;
      continue;
    }
    EXPECT_EQ(it->second, node) << name;
  }
  for (const auto& [name, node] : actual) {
    EXPECT_TRUE(expected.count(name)) << "unexpected after extraction: " << name;
  }
}

ino_t Inode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

const char kPair[] = "id = \"20261124T081500Z-3f9a1c\"\npair_token = \"abc\"\nrole = \"datadir\"\n";

ArchiveWriteOptions DefaultOptions(const std::string& source) {
  ArchiveWriteOptions options;
  options.source_dir = source;
  options.exclude = {"tmp", "analysis_data", "caches"};
  options.pair_member = kPair;
  return options;
}

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
    return sink.bytes;
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
  EXPECT_EQ(archive.size() % 10240, 0u);
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
  EXPECT_EQ(names.size(), stats_.entries + 2);
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
  StringSource source(archive);
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
    StringSource source(archive);
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
    StringSource source(archive, chunk);
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
  StringSource source(ReadFile(path));
  auto scan = ScanArchive(source);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->entries, 4u);
  EXPECT_EQ(scan->pair_member, "");
}

TEST_F(ArchiveTest, TruncatedArchivesAreErrors) {
  const std::string archive = WriteArchive();
  // Cut inside big.bin's data.
  const size_t big = archive.find("big.bin");
  ASSERT_NE(big, std::string::npos);
  {
    StringSource source(archive.substr(0, big + 4 * 1000 * 1000));
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
    StringSource source(archive.substr(0, end));
    auto scan = ScanArchive(source);
    ASSERT_FALSE(scan.ok());
    EXPECT_NE(scan.status().message().find("truncated"), std::string::npos)
        << scan.status().message();
    const std::string destination = temp_ / "partial";
    fs::create_directory(destination);
    StringSource again(archive.substr(0, end));
    EXPECT_FALSE(ExtractArchive(again, {destination, true}).ok());
  }
  {
    StringSource source(std::string(100000, 'x'));
    EXPECT_FALSE(ScanArchive(source).ok());
  }
}

TEST_F(ArchiveTest, ExtractRefusesANonEmptyDestination) {
  const std::string archive = WriteArchive();
  const std::string destination = temp_ / "busy";
  WriteFile(destination + "/already-here", "x");
  StringSource source(archive);
  auto scan = ExtractArchive(source, {destination, true});
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.status().code(), Code::kRefused);
  EXPECT_FALSE(fs::exists(destination + "/config"));
}

TEST_F(ArchiveTest, SinkErrorsAreReportedAndNothingFollowsThem) {
  FailingSink sink(3 << 20);
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
  EXPECT_EQ(std::stoul(listing), stats_.entries + 2);

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

// ---- hostile archives --------------------------------------------------------------------

struct CraftedMember {
  CraftedMember(std::string name, mode_t type, std::string content, std::string hardlink = "")
      : name(std::move(name)), type(type), content(std::move(content)),
        hardlink(std::move(hardlink)) {}
  std::string name;
  mode_t type;
  std::string content;   // file data, or symlink target
  std::string hardlink;  // for hard links
};

std::string CraftArchive(const std::vector<CraftedMember>& members) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(
      a, &out, nullptr,
      [](struct archive*, void* self, const void* data, size_t size) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(data), size);
        return static_cast<la_ssize_t>(size);
      },
      nullptr);
  for (const CraftedMember& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, 0644);
    if (m.type == AE_IFLNK) archive_entry_set_symlink(e, m.content.c_str());
    if (!m.hardlink.empty()) archive_entry_set_hardlink(e, m.hardlink.c_str());
    if (m.type == AE_IFREG && m.hardlink.empty()) archive_entry_set_size(e, m.content.size());
    archive_write_header(a, e);
    if (m.type == AE_IFREG && m.hardlink.empty()) {
      archive_write_data(a, m.content.data(), m.content.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

class HostileArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    destination_ = temp_ / "destination";
    outside_ = temp_ / "outside";
    fs::create_directories(outside_);
    WriteFile(outside_ + "/secret", "outside secret\n");
  }

  void ExpectRefused(const std::vector<CraftedMember>& members, const std::string& culprit) {
    const std::string destination = destination_ + std::to_string(++attempts_);
    fs::create_directory(destination);
    StringSource source(CraftArchive(members));
    auto scan = ExtractArchive(source, {destination, true});
    ASSERT_FALSE(scan.ok());
    EXPECT_EQ(scan.status().code(), Code::kRefused) << scan.status().ToString();
    EXPECT_NE(scan.status().message().find(culprit), std::string::npos)
        << scan.status().message();
    // Nothing landed outside the destination.
    EXPECT_EQ(Snapshot(outside_, {}).size(), 1u);
    EXPECT_EQ(ReadFile(outside_ + "/secret"), "outside secret\n");
    EXPECT_FALSE(fs::exists(temp_ / "evil"));
    // verify and restore's pre-flight scan refuse it too, before anything is extracted.
    StringSource again(CraftArchive(members));
    auto scanned = ScanArchive(again);
    ASSERT_FALSE(scanned.ok());
    EXPECT_EQ(scanned.status().code(), Code::kRefused) << scanned.status().ToString();
  }

  TempDir temp_;
  std::string destination_;
  std::string outside_;
  int attempts_ = 0;
};

TEST_F(HostileArchiveTest, DotDot) {
  ExpectRefused({{"ok.txt", AE_IFREG, "fine"}, {"../evil", AE_IFREG, "bad"}}, "../evil");
  ExpectRefused({{"a/../../evil", AE_IFREG, "bad"}}, "a/../../evil");
}

TEST_F(HostileArchiveTest, AbsolutePath) {
  const std::string target = outside_ + "/evil";
  ExpectRefused({{target, AE_IFREG, "bad"}}, target);
}

TEST_F(HostileArchiveTest, WritingThroughASymlink) {
  ExpectRefused({{"link", AE_IFLNK, outside_}, {"link/evil", AE_IFREG, "bad"}}, "link/evil");
  EXPECT_TRUE(fs::is_symlink(destination_ + "1/link"));  // the link itself is harmless
}

TEST_F(HostileArchiveTest, WritingThroughASymlinkThatReplacedADirectory) {
  ExpectRefused({{"dir", AE_IFDIR, ""}, {"dir", AE_IFLNK, outside_}, {"dir/evil", AE_IFREG, "bad"}},
                "dir/evil");
}

TEST_F(HostileArchiveTest, HardLinkOutside) {
  ExpectRefused({{"grab", AE_IFREG, "", "../outside/secret"}}, "../outside/secret");
  ExpectRefused({{"link", AE_IFLNK, outside_}, {"grab", AE_IFREG, "", "link/secret"}}, "grab");
}

}  // namespace
}  // namespace gb
