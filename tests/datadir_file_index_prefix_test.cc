// FileIndexReader::NextWithPathPrefix: the lines whose path starts with a prefix, found
// without parsing the others, whatever characters the paths hold and wherever the source's
// reads cut the lines; every line read still counts; the reader stops once past every
// prefix (the index is in ComparePaths order), with the rest of the source unread.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "datadir/file_index.h"
#include "io/byte_stream.h"

namespace gb {
namespace {

// The index of `paths`, in the order of every index (ComparePaths).
std::string IndexOf(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end(),
            [](const std::string& a, const std::string& b) { return ComparePaths(a, b) < 0; });
  StringSink sink;
  FileIndexWriter writer(sink);
  for (const std::string& path : paths) {
    FileIndexEntry entry;
    entry.path = path;
    entry.type = "file";
    // A link target that spells another path's key must not make its line match.
    entry.link_target = "\"path\":\"a/";
    EXPECT_TRUE(writer.Add(entry).ok());
  }
  return sink.bytes();
}

std::vector<std::string> Matching(const std::string& index,
                                  const std::vector<std::string>& prefixes, uint64_t* lines,
                                  size_t piece = 100) {
  StringSource source(index, piece);
  FileIndexReader reader(source, "test index");
  std::vector<std::string> found;
  FileIndexEntry entry;
  for (;;) {
    Result<bool> more = reader.NextWithPathPrefix(entry, prefixes);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    found.push_back(entry.path);
  }
  *lines = reader.entries();
  return found;
}

TEST(FileIndexPrefix, FindsThePathsStartingWithAPrefixAndCountsEveryLineRead) {
  const std::vector<std::string> paths = {"a", "a/b", "a-c", "b", "b\"q/x", "b\\s", "c/\ttab",
                                          "c/\xc3\xa9t\xc3\xa9", "d"};
  const std::string index = IndexOf(paths);
  uint64_t lines = 0;
  EXPECT_EQ(Matching(index, {"a"}, &lines), (std::vector<std::string>{"a", "a/b", "a-c"}));
  EXPECT_GE(lines, 4u);  // up to "b" at least: the first line past "a"'s run
  EXPECT_EQ(Matching(index, {"b\"q", "b\\"}, &lines),
            (std::vector<std::string>{"b\"q/x", "b\\s"}));
  EXPECT_EQ(Matching(index, {"c/\xc3\xa9", "c/\t"}, &lines),
            (std::vector<std::string>{"c/\ttab", "c/\xc3\xa9t\xc3\xa9"}));
  EXPECT_EQ(Matching(index, {"zz"}, &lines), std::vector<std::string>{});
  EXPECT_EQ(lines, paths.size());  // nothing sorts past "zz": every line was read
}

// Paths with every kind of character JSON escapes, or not: for each prefix, what the reader
// finds is what a filter of every path finds, whatever the size of the source's reads (a
// needle cut in two by them, a line longer than a read).
TEST(FileIndexPrefix, FindsWhatAFilterFindsWhereverTheReadsCut) {
  std::vector<std::string> paths = {
      "a", "a/\"q\"", "a/\\", "a/\\b", "a/\x01ctl", "a/\x1f", "a/\nnl", "a/\x7f",
      "a/\xc3\xa9", "a/\xe2\x82\xac/x", "a/b", "a/b/c", "a/b-c", "a/b.c", "a/bc", "a-b", "a.b",
      "a0", "ab", "b", "b/" + std::string(3000, 'l'), "c \"quoted\"/d", "z\\/y"};
  for (int i = 0; i < 40; ++i) paths.push_back("m/" + std::to_string(i * 7919 % 1000));
  const std::string index = IndexOf(paths);
  std::vector<std::string> prefixes = paths;
  for (const std::string extra : {"a/", "a/b", "a/\"", "a/\\", "a/\xc3", "m/1", "m/", "0", "a/a",
                                  "a/c", "y", "zz", "\x01"})
    prefixes.push_back(extra);
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& a, const std::string& b) { return ComparePaths(a, b) < 0; });
  for (size_t piece : {size_t{1}, size_t{7}, size_t{100}, size_t{1} << 20}) {
    for (const std::string& prefix : prefixes) {
      SCOPED_TRACE("piece " + std::to_string(piece) + ", prefix " + prefix);
      std::vector<std::string> expected;
      for (const std::string& path : sorted)
        if (path.compare(0, prefix.size(), prefix) == 0) expected.push_back(path);
      uint64_t lines = 0;
      EXPECT_EQ(Matching(index, {prefix}, &lines, piece), expected);
    }
    SCOPED_TRACE("piece " + std::to_string(piece) + ", two prefixes");
    uint64_t lines = 0;
    EXPECT_EQ(Matching(index, {"m/5", "a/b/"}, &lines, piece),
              (std::vector<std::string>{"a/b/c", "m/514", "m/542", "m/56", "m/570", "m/595"}));
  }
}

// Counts what was read of the source.
class CountingSource : public ByteSource {
 public:
  explicit CountingSource(std::string bytes) : bytes_(std::move(bytes)) {}
  Result<size_t> Read(void* buffer, size_t capacity) override {
    const size_t n = std::min(capacity, bytes_.size() - read_);
    std::memcpy(buffer, bytes_.data() + read_, n);
    read_ += n;
    return n;
  }
  size_t read() const { return read_; }

 private:
  std::string bytes_;
  size_t read_ = 0;
};

TEST(FileIndexPrefix, StopsOncePastEveryPrefixWithTheRestUnread) {
  std::vector<std::string> paths;
  for (int i = 0; i < 20000; ++i) paths.push_back("p/" + std::to_string(100000 + i));
  const std::string index = IndexOf(paths);
  ASSERT_GT(index.size(), size_t{2} << 20);
  for (const std::vector<std::string>& prefixes :
       std::vector<std::vector<std::string>>{{"p/100010"}, {"p/100003", "p/100011"}, {"p/100005x"},
                                             {"a"}, {"p/10001"}}) {
    SCOPED_TRACE(prefixes.front());
    CountingSource source(index);
    FileIndexReader reader(source, "test index");
    FileIndexEntry entry;
    std::vector<std::string> found;
    for (;;) {
      Result<bool> more = reader.NextWithPathPrefix(entry, prefixes);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      if (!*more) break;
      found.push_back(entry.path);
    }
    EXPECT_LT(source.read(), size_t{1} << 20) << "read on past the prefixes";
    EXPECT_LT(reader.entries(), paths.size());
    if (prefixes.front() == "p/10001") {
      EXPECT_EQ(found.size(), 10u);  // p/100010 to p/100019
    }
  }
  // A prefix sorting after every path: the whole index is read, and every line counted.
  CountingSource source(index);
  FileIndexReader reader(source, "test index");
  FileIndexEntry entry;
  Result<bool> more = reader.NextWithPathPrefix(entry, {"q"});
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ(source.read(), index.size());
  EXPECT_EQ(reader.entries(), paths.size());
}

TEST(FileIndexPrefix, ADamagedMatchingLineIsStillAnError) {
  std::string index = IndexOf({"a", "b"});
  index.insert(index.find("\"path\":\"b\""), "garbage");
  StringSource source(index);
  FileIndexReader reader(source, "test index");
  FileIndexEntry entry;
  Result<bool> more = reader.NextWithPathPrefix(entry, {"b"});
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.status().message().find("test index entry 2"), std::string::npos)
      << more.status().ToString();
}

}  // namespace
}  // namespace gb
