// ParseIndexEntry: what FileIndexEntry::ToJson wrote reads back field for field; optional keys
// default; a newer writer's unknown keys (scalars, objects, arrays) are skipped; a missing
// key, a value of the wrong type, a line that is not an object or not JSON are errors naming
// what is wrong.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "datadir/index_entry_json.h"

namespace gb::testing {
namespace {

FileIndexEntry Full() {
  FileIndexEntry entry;
  entry.path = "dir \"q\"\\/été ☀\n\x01.txt";
  entry.type = "file";
  entry.mode = 04755;
  entry.uid = 4000000000u;
  entry.gid = 7;
  entry.user = "dataiku";
  entry.group = "govern";
  entry.size = 1ull << 40;
  entry.mtime_ns = -1234567890123;  // before the epoch
  entry.ctime_ns = 1700000000123456789;
  entry.inode = 99;
  entry.racy = true;
  entry.link_target = "../target";
  entry.sha256 = std::string(64, 'a');
  entry.set_id = "20261130T000000Z-abcdef";
  entry.offset = 512;
  entry.length = 1536;
  return entry;
}

std::string Parsed(const std::string& line, bool expect_ok = true) {
  FileIndexEntry entry;
  std::string why;
  const bool ok = ParseIndexEntry(line, entry, why);
  EXPECT_EQ(ok, expect_ok) << line << ": " << why;
  return ok ? entry.ToJson().dump() : why;
}

TEST(IndexEntryJson, EveryFieldRoundTrips) {
  const std::string line = Full().ToJson().dump();
  EXPECT_EQ(Parsed(line), line);
  FileIndexEntry entry;
  std::string why;
  ASSERT_TRUE(ParseIndexEntry(line, entry, why));
  EXPECT_EQ(entry.path, Full().path);
  EXPECT_EQ(entry.mtime_ns, -1234567890123);
  EXPECT_EQ(entry.uid, 4000000000u);
  EXPECT_TRUE(entry.racy);
}

// The writer's line is the document's dump byte for byte, whichever optional keys are there
// and whatever a string needs escaped: a set's index reads the same whoever wrote it.
TEST(IndexEntryJson, TheWrittenLineIsTheDocumentsDump) {
  std::vector<FileIndexEntry> entries;
  FileIndexEntry minimal;
  minimal.path = "a";
  minimal.type = "dir";
  minimal.set_id = "s";
  entries.push_back(minimal);
  entries.push_back(Full());
  for (const char* path : {"plain/ascii-name_1.txt", "tab\there", "del\x7f", "quote\"",
                           "back\\slash", "utf8/\xc3\xa9t\xc3\xa9", "~!@#$%^&*()[]{}<>?,;:'`|=+"}) {
    FileIndexEntry entry = Full();
    entry.path = path;
    entry.user = path;
    entry.link_target = std::string("../") + path;
    entries.push_back(entry);
  }
  FileIndexEntry positive = Full();
  positive.mtime_ns = 1700000000000000000;
  positive.uid = UINT64_MAX;
  entries.push_back(positive);
  for (const FileIndexEntry& entry : entries) {
    std::string line = "kept ";
    AppendIndexEntryJson(entry, line);
    EXPECT_EQ(line, "kept " + entry.ToJson().dump());
  }
  // An invalid UTF-8 name fails as the document's dump does, not silently.
  FileIndexEntry invalid = Full();
  invalid.path = "bad\xff";
  std::string line;
  EXPECT_THROW(AppendIndexEntryJson(invalid, line), nlohmann::json::type_error);
  EXPECT_THROW(invalid.ToJson().dump(), nlohmann::json::type_error);
}

TEST(IndexEntryJson, OptionalKeysDefaultAndAnEarlierEntryLeavesNothing) {
  FileIndexEntry minimal;
  minimal.path = "a";
  minimal.type = "dir";
  minimal.set_id = "s";
  FileIndexEntry entry = Full();  // overwritten whole
  std::string why;
  ASSERT_TRUE(ParseIndexEntry(minimal.ToJson().dump(), entry, why)) << why;
  EXPECT_EQ(entry.ToJson().dump(), minimal.ToJson().dump());
  EXPECT_FALSE(entry.racy);
  EXPECT_EQ(entry.inode, 0u);
}

TEST(IndexEntryJson, UnknownKeysOfANewerWriterAreSkipped) {
  nlohmann::json json = Full().ToJson();
  json["xattrs"] = {{"user.a", "b"}, {"nested", {1, 2, {{"path", 5}}}}};
  json["flags"] = nlohmann::json::array({"x", nullptr, 1.5});
  json["future"] = nullptr;
  EXPECT_EQ(Parsed(json.dump()), Full().ToJson().dump());
}

TEST(IndexEntryJson, DamageIsNamed) {
  nlohmann::json json = Full().ToJson();
  json.erase("offset");
  EXPECT_EQ(Parsed(json.dump(), false), "no \"offset\"");
  json = Full().ToJson();
  json["size"] = "12";
  EXPECT_EQ(Parsed(json.dump(), false), "\"size\" is a string");
  json = Full().ToJson();
  json["path"] = 3;
  EXPECT_EQ(Parsed(json.dump(), false), "\"path\" is a number");
  json = Full().ToJson();
  json["mode"] = -1;
  EXPECT_EQ(Parsed(json.dump(), false), "\"mode\" is a negative number");
  json = Full().ToJson();
  json["racy"] = nullptr;
  EXPECT_EQ(Parsed(json.dump(), false), "\"racy\" is null");
  json = Full().ToJson();
  json["set"] = {{"id", "x"}};
  EXPECT_EQ(Parsed(json.dump(), false), "\"set\" is an object");
  json = Full().ToJson();
  json["path"] = "";
  EXPECT_EQ(Parsed(json.dump(), false), "an index entry without a path");
  EXPECT_EQ(Parsed("[1,2]", false), "not an object");
  EXPECT_EQ(Parsed("17", false), "not an object");
  EXPECT_EQ(Parsed("not an index entry", false).rfind("not JSON (", 0), 0u);
  EXPECT_EQ(Parsed(Full().ToJson().dump().substr(0, 40), false).rfind("not JSON (", 0), 0u);
}

}  // namespace
}  // namespace gb::testing
