// The per-file index: entries round-trip through JSON lines, are read one at a time (a
// reader does not take in the whole index for its first entry), damage is named; the archive
// writer reports every member with the offset and length of its bytes in the tar stream, so
// that the member alone, cut out of the stream, extracts to the source file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <vector>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"
#include "datadir/file_index.h"
#include "io/sha256.h"
#include "tests/datadir_archive_util.h"

namespace gb::testing {
namespace {

FileIndexEntry SampleEntry(int n) {
  FileIndexEntry entry;
  entry.path = "dir \"quoted\"/été ☀\n" + std::to_string(n) + ".txt";
  entry.type = n % 2 ? "file" : "symlink";
  entry.mode = 0640;
  entry.uid = 1000 + n;
  entry.gid = 2000;
  entry.user = "dataiku";
  entry.group = "";
  entry.size = 12345u * n;
  entry.mtime_ns = 1600000000123456789ll + n;
  if (n % 2) entry.sha256 = std::string(64, 'a');
  else entry.link_target = "../target";
  entry.set_id = "20261124T081500Z-3f9a1c";
  entry.offset = 512u * n;
  entry.length = 1024;
  return entry;
}

void ExpectSameEntry(const FileIndexEntry& a, const FileIndexEntry& b) {
  EXPECT_EQ(a.ToJson(), b.ToJson());
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.mtime_ns, b.mtime_ns);
}

TEST(FileIndex, EntriesRoundTripThroughJsonLines) {
  StringSink sink;
  FileIndexWriter writer(sink);
  for (int n = 0; n < 50; ++n) ASSERT_TRUE(writer.Add(SampleEntry(n)).ok());
  EXPECT_EQ(writer.entries(), 50u);
  EXPECT_EQ(std::count(sink.bytes().begin(), sink.bytes().end(), '\n'), 50);

  StringSource source(sink.bytes(), 97);  // short reads split lines
  FileIndexReader reader(source, "test index");
  FileIndexEntry entry;
  for (int n = 0; n < 50; ++n) {
    Result<bool> more = reader.Next(entry);
    ASSERT_TRUE(more.ok()) << more.status().message();
    ASSERT_TRUE(*more);
    ExpectSameEntry(entry, SampleEntry(n));
  }
  Result<bool> end = reader.Next(entry);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  EXPECT_EQ(reader.entries(), 50u);
}

TEST(FileIndex, ReaderStreamsOneEntryAtATime) {
  StringSink sink;
  FileIndexWriter writer(sink);
  for (int n = 0; n < 20000; ++n) ASSERT_TRUE(writer.Add(SampleEntry(n)).ok());
  ASSERT_GT(sink.bytes().size(), 4u << 20);
  StringSource source(sink.bytes());
  FileIndexReader reader(source, "test index");
  FileIndexEntry entry;
  ASSERT_TRUE(*reader.Next(entry));
  ExpectSameEntry(entry, SampleEntry(0));
  EXPECT_LT(source.consumed(), 1u << 20) << "the first entry took in the whole index";
}

TEST(FileIndex, DamageIsNamed) {
  std::string good = SampleEntry(1).ToJson().dump() + "\n";
  {
    StringSource source(good + "{not json\n");
    FileIndexReader reader(source, "idx");
    FileIndexEntry entry;
    ASSERT_TRUE(*reader.Next(entry));
    Result<bool> bad = reader.Next(entry);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("idx entry 2"), std::string::npos)
        << bad.status().message();
  }
  {
    StringSource source(good.substr(0, good.size() - 5));
    FileIndexReader reader(source, "idx");
    FileIndexEntry entry;
    Result<bool> cut = reader.Next(entry);
    ASSERT_FALSE(cut.ok());
    EXPECT_NE(cut.status().message().find("idx ends in the middle"), std::string::npos);
  }
  {
    StringSource source("{\"path\": \"x\"}\n");
    FileIndexReader reader(source, "idx");
    FileIndexEntry entry;
    EXPECT_FALSE(reader.Next(entry).ok());
  }
}

// The archive of BuildTree's data dir, with what on_member reported.
struct ArchivedTree {
  std::string tar;
  std::vector<FileIndexEntry> members;
  ArchiveWriteStats stats;
};

ArchivedTree ArchiveTree(const std::string& source) {
  ArchivedTree archived;
  StringSink sink;
  ArchiveWriteOptions options = DefaultOptions(source);
  options.on_member = [&](const FileIndexEntry& member) {
    // Every byte of the member is in the sink when it is reported: a frame may end here.
    EXPECT_EQ(sink.bytes().size(), member.offset + member.length) << member.path;
    archived.members.push_back(member);
    return Status::Ok();
  };
  Result<ArchiveWriteStats> stats = WriteDataDirArchive(options, sink);
  EXPECT_TRUE(stats.ok()) << stats.status().message();
  if (stats.ok()) archived.stats = *stats;
  archived.tar = sink.bytes();
  return archived;
}

TEST(ArchiveWriterMembers, ReportsEveryMemberInOrderWithContiguousOffsets) {
  TempDir dir;
  const std::string source = dir.path() + "/data";
  BuildTree(source);
  ArchivedTree archived = ArchiveTree(source);
  ASSERT_EQ(archived.members.size(), archived.stats.entries);
  for (size_t i = 1; i < archived.members.size(); ++i)
    EXPECT_EQ(archived.members[i].offset,
              archived.members[i - 1].offset + archived.members[i - 1].length)
        << archived.members[i].path;
  // The pair member comes first and is not listed; the end-of-archive blocks follow the last.
  EXPECT_GT(archived.members.front().offset, 0u);
  EXPECT_GE(archived.tar.size(), archived.members.back().offset + archived.members.back().length +
                                     1024);

  std::map<std::string, FileIndexEntry> by_path;
  for (const auto& member : archived.members) by_path[member.path] = member;
  const FileIndexEntry& secret = by_path.at("private/secret.txt");
  EXPECT_EQ(secret.type, "file");
  EXPECT_EQ(secret.mode, 0600u);
  EXPECT_EQ(secret.size, 7u);
  EXPECT_EQ(secret.sha256, Sha256::OfString("secret\n"));
  EXPECT_EQ(by_path.at("links/relative").type, "symlink");
  EXPECT_EQ(by_path.at("links/relative").link_target, "../config/general-settings.json");
  EXPECT_EQ(by_path.at("private").type, "dir");
  EXPECT_EQ(by_path.at("run.fifo").type, "fifo");
  const bool first_is_link = by_path.at("hard/first").type == "hardlink";
  const FileIndexEntry& link = by_path.at(first_is_link ? "hard/first" : "hard/second");
  EXPECT_EQ(link.type, "hardlink");
  EXPECT_FALSE(link.link_target.empty());
  // A sparse file's hash covers its holes, as read back.
  EXPECT_EQ(by_path.at("big.bin").sha256, *Sha256::OfFile(source + "/big.bin"));
  EXPECT_EQ(by_path.at("big.bin").size, 9u * 1000 * 1000 + 17);
  EXPECT_EQ(by_path.count("tmp/scratch"), 0u);
}

TEST(ArchiveWriterMembers, AMemberCutOutAtItsOffsetExtractsAlone) {
  TempDir dir;
  const std::string source = dir.path() + "/data";
  BuildTree(source);
  ArchivedTree archived = ArchiveTree(source);
  for (const std::string wanted :
       {"private/secret.txt", "big.bin", "données/été ☀.txt", "bin/dss"}) {
    auto it = std::find_if(archived.members.begin(), archived.members.end(),
                           [&](const FileIndexEntry& m) { return m.path == wanted; });
    ASSERT_NE(it, archived.members.end()) << wanted;
    std::string tar = archived.tar.substr(it->offset, it->length) + std::string(1024, '\0');
    const std::string out = dir.path() + "/out-" + std::to_string(it->offset);
    fs::create_directories(out);
    ShortReadSource stream(tar);
    ExtractOptions options;
    options.destination = out;
    Result<ArchiveScan> scan = ExtractArchive(stream, options);
    ASSERT_TRUE(scan.ok()) << wanted << ": " << scan.status().message();
    EXPECT_EQ(scan->entries, 1u) << wanted;
    EXPECT_EQ(ReadFile(out + "/" + wanted), ReadFile(source + "/" + wanted)) << wanted;
    EXPECT_EQ(*Sha256::OfFile(out + "/" + wanted), it->sha256) << wanted;
    struct stat st;
    ASSERT_EQ(lstat((out + "/" + wanted).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, it->mode) << wanted;
    EXPECT_EQ(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
              it->mtime_ns)
        << wanted;
  }
}

TEST(ArchiveWriterMembers, AFailingCallbackStopsTheArchive) {
  TempDir dir;
  const std::string source = dir.path() + "/data";
  BuildTree(source);
  StringSink sink;
  ArchiveWriteOptions options = DefaultOptions(source);
  int calls = 0;
  options.on_member = [&](const FileIndexEntry&) {
    return ++calls == 3 ? Status::Failed("index store is full") : Status::Ok();
  };
  Result<ArchiveWriteStats> stats = WriteDataDirArchive(options, sink);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("index store is full"), std::string::npos);
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace gb::testing
