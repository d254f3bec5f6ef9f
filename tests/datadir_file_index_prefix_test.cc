// FileIndexReader::NextWithPathPrefix: the lines whose path starts with a prefix, found
// without parsing the others, whatever characters the paths hold; every line still counts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "datadir/file_index.h"
#include "io/byte_stream.h"

namespace gb {
namespace {

std::string IndexOf(const std::vector<std::string>& paths) {
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
                                  const std::vector<std::string>& prefixes, uint64_t* lines) {
  StringSource source(index, 100);
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

TEST(FileIndexPrefix, FindsThePathsStartingWithAPrefixAndCountsEveryLine) {
  const std::vector<std::string> paths = {"a", "a/b", "a-c", "b", "b\"q/x", "b\\s", "c/\xc3\xa9t\xc3\xa9",
                                          "c/\ttab", "d"};
  const std::string index = IndexOf(paths);
  uint64_t lines = 0;
  EXPECT_EQ(Matching(index, {"a"}, &lines), (std::vector<std::string>{"a", "a/b", "a-c"}));
  EXPECT_EQ(lines, paths.size());
  EXPECT_EQ(Matching(index, {"b\"q", "b\\"}, &lines),
            (std::vector<std::string>{"b\"q/x", "b\\s"}));
  EXPECT_EQ(Matching(index, {"c/\xc3\xa9", "c/\t"}, &lines),
            (std::vector<std::string>{"c/\xc3\xa9t\xc3\xa9", "c/\ttab"}));
  EXPECT_EQ(Matching(index, {"zz"}, &lines), std::vector<std::string>{});
  EXPECT_EQ(lines, paths.size());
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
