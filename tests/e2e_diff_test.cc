// End-to-end `diff` on sets of the real binary: between two sets it names exactly the files
// added, removed and changed (content with the same size and mtime, size, mode, owner, link
// target, type) and the tables whose row count or content changed, were added or removed;
// a set against itself has no difference; the hashes a set records are the database's at the
// snapshot; a set without an index or table hashes (0.1.0) is compared as far as it can be,
// saying what was not; and the same through an S3 repository.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "io/files.h"
#include "io/zstd_file.h"
#include "pg/table_summary.h"
#include "sandbox/sql.h"
#include "tests/support/cli_json.h"
#include "tests/support/dump_summary.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/s3_node_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

// path -> "change" or "changed:field,field" of a diff document's files (or tables).
std::map<std::string, std::string> Changes(const nlohmann::json& list, const char* key) {
  std::map<std::string, std::string> changes;
  if (!list.is_array()) {
    ADD_FAILURE() << "not an array: " << list.dump();
    return changes;
  }
  for (const auto& change : list) {
    std::string text = change.at("change").get<std::string>();
    if (change.contains("fields")) {
      text += ":";
      for (const auto& field : change.at("fields")) text += field.get<std::string>() + ",";
      text.pop_back();
    }
    changes[change.at(key).get<std::string>()] = text;
  }
  return changes;
}

void Write(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_TRUE(WriteFile(path, content, 0644).ok()) << path;
}

// The files and tables the first set holds, under a folder of the data dir of our own.
void PlantBefore(const std::string& data_dir, const ConnectionParams& db) {
  const std::string d = data_dir + "/diff-me/";
  for (const char* name : {"same.txt", "content.txt", "grow.txt", "mode.txt", "owner.txt",
                           "turn", "gone.txt", "gone-dir/x.txt"})
    Write(d + name, std::string("aaaa ") + name);
  ASSERT_EQ(::symlink("same.txt", (d + "link").c_str()), 0);
  ASSERT_TRUE(ExecuteSql(db, "CREATE TABLE diff_gone (x int); INSERT INTO diff_gone VALUES (1);"
                             "CREATE TABLE diff_counted (x int); INSERT INTO diff_counted VALUES (1);")
                  .ok());
}

// The changes between the two sets, each of one kind.
void ChangeAfter(const std::string& data_dir, const ConnectionParams& db, uid_t other_uid) {
  const std::string d = data_dir + "/diff-me/";
  // The same size and the same mtime: only the content tells.
  struct stat before {};
  ASSERT_EQ(::stat((d + "content.txt").c_str(), &before), 0);
  Write(d + "content.txt", "bbbb content.txt");
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (d + "content.txt").c_str(), times, 0), 0);
  Write(d + "grow.txt", "aaaa grow.txt and more");
  ASSERT_EQ(::chmod((d + "mode.txt").c_str(), 0600), 0);
  ASSERT_EQ(::chown((d + "owner.txt").c_str(), other_uid, other_uid), 0);
  fs::remove(d + "link");
  ASSERT_EQ(::symlink("grow.txt", (d + "link").c_str()), 0);
  fs::remove(d + "turn");
  ASSERT_EQ(::symlink("same.txt", (d + "turn").c_str()), 0);
  fs::remove(d + "gone.txt");
  fs::remove_all(d + "gone-dir");
  Write(d + "new-dir/y.txt", "new");
  Write(d + "new.txt", "new");
  ASSERT_TRUE(ExecuteSql(db, "DROP TABLE diff_gone; CREATE TABLE diff_new (x int);"
                             "UPDATE diff_counted SET x = 2;"
                             "INSERT INTO roles VALUES ('diff-auditor', 'Auditors');")
                  .ok());
}

const std::map<std::string, std::string> kExpectedFiles = {
    {"diff-me/content.txt", "changed:content"},
    {"diff-me/gone-dir", "removed"},
    {"diff-me/gone-dir/x.txt", "removed"},
    {"diff-me/gone.txt", "removed"},
    {"diff-me/grow.txt", "changed:content,size"},
    {"diff-me/link", "changed:link"},
    {"diff-me/mode.txt", "changed:mode"},
    {"diff-me/new-dir", "added"},
    {"diff-me/new-dir/y.txt", "added"},
    {"diff-me/new.txt", "added"},
    {"diff-me/owner.txt", "changed:owner"},
    {"diff-me/turn", "changed:type,content,size,mode,link"},
};

const std::map<std::string, std::string> kExpectedTables = {
    {"public.diff_counted", "changed:content"},
    {"public.diff_gone", "removed"},
    {"public.diff_new", "added"},
    {"public.roles", "changed:rows,content"},
};

void ExpectTheDifferences(const JsonRun& run, const std::string& first, const std::string& second) {
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const nlohmann::json& doc = run.doc;
  EXPECT_EQ(doc.at("from"), first);
  EXPECT_EQ(doc.at("to"), second);
  EXPECT_EQ(Changes(doc.at("files"), "path"), kExpectedFiles);
  EXPECT_EQ(Changes(doc.at("tables"), "table"), kExpectedTables);
  EXPECT_TRUE(doc.at("not_compared").empty()) << doc.at("not_compared");
  const auto& files = doc.at("summary").at("files");
  EXPECT_EQ(files.at("added"), 3);
  EXPECT_EQ(files.at("removed"), 3);
  EXPECT_EQ(files.at("changed"), 6);
  EXPECT_GT(files.at("unchanged").get<int>(), 100);  // the rest of the sample node
  const auto& tables = doc.at("summary").at("tables");
  EXPECT_EQ(tables.at("added"), 1);
  EXPECT_EQ(tables.at("removed"), 1);
  EXPECT_EQ(tables.at("changed"), 2);
  EXPECT_GT(tables.at("unchanged").get<int>(), 5);
  // Each change says what it was and what it became.
  for (const auto& change : doc.at("files")) {
    if (change.at("path") != "diff-me/turn") continue;
    EXPECT_EQ(change.at("from").at("type"), "file");
    EXPECT_EQ(change.at("to").at("type"), "symlink");
    EXPECT_EQ(change.at("to").at("link"), "same.txt");
  }
  for (const auto& change : doc.at("tables")) {
    if (change.at("table") != "public.roles") continue;
    EXPECT_EQ(change.at("to").at("rows").get<int>(), change.at("from").at("rows").get<int>() + 1);
    EXPECT_NE(change.at("to").at("hash"), change.at("from").at("hash"));
  }
}

// A node test (local or S3 repository) that takes two sets with kExpectedFiles and
// kExpectedTables between them.
template <typename NodeTest>
class DiffFixture : public NodeTest {
 protected:
  std::pair<std::string, std::string> TwoSets() {
    PlantBefore(this->node_.data_dir, this->db_);
    const std::string first = this->BackupOkInItsOwnSecond();
    ChangeAfter(this->node_.data_dir, this->db_, this->node_.owner_uid + 1);
    const std::string second = this->BackupOkInItsOwnSecond();
    return {first, second};
  }
};

class DiffTest : public DiffFixture<GovernNodeTest> {};

TEST_F(DiffTest, NamesExactlyWhatChangedBetweenTwoSets) {
  const auto [first, second] = TwoSets();
  ExpectTheDifferences(RunJson(config_path_, {"diff", first, second}), first, second);

  // The other way round, added and removed swap.
  JsonRun back = RunJson(config_path_, {"diff", second, first});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  auto files = Changes(back.doc.at("files"), "path");
  EXPECT_EQ(files.at("diff-me/new.txt"), "removed");
  EXPECT_EQ(files.at("diff-me/gone.txt"), "added");
  EXPECT_EQ(files.size(), kExpectedFiles.size());

  // The text form, a line per change.
  CommandResult text = Run({"diff", first, second});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* line : {"A  diff-me/new.txt\n", "D  diff-me/gone.txt\n",
                           "M  diff-me/content.txt  (content)\n",
                           "M  diff-me/turn  (type file -> symlink, content, size",
                           "A  public.diff_new  (0 rows)\n", "D  public.diff_gone  (1 row)\n",
                           "M  public.diff_counted  (content)\n"})
    EXPECT_NE(text.out.find(line), std::string::npos) << line << " not in\n" << text.out;
}

TEST_F(DiffTest, ASetHasNoDifferenceWithItselfAndRecordsTheSnapshotsHashes) {
  Result<std::map<std::string, TableSummary>> live = DumpSummaries(db_);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  const std::string id = BackupOk();
  Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
  ASSERT_TRUE(manifest.ok() && manifest->database);
  ASSERT_EQ(manifest->database->table_hashes.size(), live->size());
  for (const auto& [table, summary] : *live) {
    EXPECT_EQ(manifest->database->table_hashes.at(table), summary.hash) << table;
    EXPECT_EQ(manifest->database->table_rows.at(table), summary.rows) << table;
  }

  JsonRun same = RunJson(config_path_, {"diff", id, id});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_TRUE(same.doc.at("files").empty());
  EXPECT_TRUE(same.doc.at("tables").empty());
  EXPECT_EQ(same.doc.at("summary").at("files").at("unchanged").get<uint64_t>(),
            manifest->index->entries);
  EXPECT_EQ(same.doc.at("summary").at("tables").at("unchanged").get<size_t>(), live->size());

  CommandResult missing = Run({"diff", id, "20200101T000000Z-000000"});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("20200101T000000Z-000000"), std::string::npos) << missing.err;
}

// What 0.1.0 wrote: no index, no table hashes (the halves do not matter to diff).
void MakeOld(const std::string& repo, const std::string& id, bool with_row_counts) {
  const std::string path = repo + "/" + id + "/manifest.toml";
  Result<Manifest> loaded = Manifest::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  Manifest manifest = *loaded;
  manifest.format = 1;
  manifest.tool_version = "0.1.0";
  manifest.index.reset();
  manifest.datadir.seekable = false;
  manifest.database->table_hashes.clear();
  if (!with_row_counts) manifest.database->table_rows.clear();
  ASSERT_TRUE(WriteFile(path, manifest.ToText(), 0644).ok());
}

TEST_F(DiffTest, AnOldSetIsComparedAsFarAsItCanBe) {
  const auto [first, second] = TwoSets();
  MakeOld(repo_, first, true);

  JsonRun run = RunJson(config_path_, {"diff", first, second});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(run.doc.at("files").is_null());
  ASSERT_EQ(run.doc.at("not_compared").size(), 2u) << run.doc.at("not_compared");
  const std::string files_why = run.doc.at("not_compared")[0];
  EXPECT_NE(files_why.find("files: set " + first + " has no per-file index"), std::string::npos)
      << files_why;
  const std::string tables_why = run.doc.at("not_compared")[1];
  EXPECT_NE(tables_why.find("set " + first + " records no table content hashes"),
            std::string::npos)
      << tables_why;
  EXPECT_NE(tables_why.find("only row counts"), std::string::npos) << tables_why;
  // Row counts still tell what they can; a content-only change cannot be seen.
  EXPECT_EQ(Changes(run.doc.at("tables"), "table"),
            (std::map<std::string, std::string>{{"public.diff_gone", "removed"},
                                                {"public.diff_new", "added"},
                                                {"public.roles", "changed:rows"}}));
  EXPECT_FALSE(run.doc.at("summary").contains("files"));

  CommandResult text = Run({"diff", first, second});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("not compared: files: set " + first + " has no per-file index"),
            std::string::npos)
      << text.out;

  // Nothing left to compare: an error that says why.
  MakeOld(repo_, first, false);
  CommandResult nothing = Run({"diff", first, second});
  EXPECT_EQ(nothing.exit_code, 1) << nothing.out;
  EXPECT_NE(nothing.err.find("cannot be compared"), std::string::npos) << nothing.err;
  EXPECT_NE(nothing.err.find("records no table row counts"), std::string::npos) << nothing.err;
  EXPECT_TRUE(nothing.out.empty()) << nothing.out;
}

// A dump the backup cannot follow as it streams (here pg_dump compresses it itself) is
// summarized by the server instead: the set still records every table, under the server's
// scheme; two such sets compare by content, a set of each kind by row count only.
TEST_F(DiffTest, ADumpThatCannotBeFollowedIsSummarizedByTheServer) {
  const std::string wrapper = root_ + "/pg-bin";
  fs::create_directories(wrapper);
  const std::string real = SharedCluster().bin_dir();
  ASSERT_TRUE(WriteFile(wrapper + "/pg_dump",
                        "#!/bin/sh\nexec '" + real + "/pg_dump' \"$@\" --compress=1\n", 0755)
                  .ok());
  fs::create_symlink(real + "/pg_restore", wrapper + "/pg_restore");
  const std::string config = *ReadWholeFile(config_path_);
  const std::string line = "pg_bin_dir = \"" + real + "\"";
  ASSERT_NE(config.find(line), std::string::npos) << config;
  std::string wrapped_config = config;
  wrapped_config.replace(config.find(line), line.size(), "pg_bin_dir = \"" + wrapper + "\"");
  ASSERT_TRUE(WriteFile(config_path_, wrapped_config, 0644).ok());

  PlantBefore(node_.data_dir, db_);
  const std::string first = BackupOkInItsOwnSecond();
  EXPECT_NE(last_backup_log_.find("a compressed archive"), std::string::npos) << last_backup_log_;
  EXPECT_NE(last_backup_log_.find("asking the server"), std::string::npos) << last_backup_log_;
  Result<std::map<std::string, TableSummary>> live = SummarizeTables(db_);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  Result<Manifest> manifest = Manifest::Load(repo_ + "/" + first + "/manifest.toml");
  ASSERT_TRUE(manifest.ok() && manifest->database);
  ASSERT_EQ(manifest->database->table_hashes.size(), live->size());
  for (const auto& [table, summary] : *live) {
    EXPECT_EQ(manifest->database->table_hashes.at(table), summary.hash) << table;
    EXPECT_EQ(manifest->database->table_rows.at(table), summary.rows) << table;
  }
  ChangeAfter(node_.data_dir, db_, node_.owner_uid + 1);
  const std::string second = BackupOkInItsOwnSecond();
  JsonRun both = RunJson(config_path_, {"diff", first, second});
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_EQ(Changes(both.doc.at("tables"), "table"), kExpectedTables);
  EXPECT_TRUE(both.doc.at("not_compared").empty()) << both.doc.at("not_compared");

  // The next set, by the real pg_dump, is read as it streams: another scheme.
  ASSERT_TRUE(WriteFile(config_path_, config, 0644).ok());
  const std::string third = BackupOkInItsOwnSecond();
  EXPECT_NE(last_backup_log_.find("read from the dump"), std::string::npos) << last_backup_log_;
  JsonRun mixed = RunJson(config_path_, {"diff", second, third});
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  ASSERT_EQ(mixed.doc.at("not_compared").size(), 1u) << mixed.doc.at("not_compared");
  const std::string why = mixed.doc.at("not_compared")[0];
  EXPECT_NE(why.find("(hte64sum and copysha64sum-pg15: "), std::string::npos) << why;
  EXPECT_NE(why.find("only row counts"), std::string::npos) << why;
  EXPECT_TRUE(mixed.doc.at("tables").empty()) << mixed.doc.at("tables");
}

// The merge relies on both indexes being in path order and being the ones the manifests
// recorded: an index that is not is an error naming it, not a made-up difference.
TEST_F(DiffTest, AnIndexOutOfOrderIsAnError) {
  const auto [first, second] = TwoSets();
  Result<Manifest> manifest = Manifest::Load(repo_ + "/" + second + "/manifest.toml");
  ASSERT_TRUE(manifest.ok() && manifest->index);
  const std::string index = repo_ + "/" + second + "/" + manifest->index->file;
  auto reader = ZstdFileReader::Open(index);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::string text;
  std::vector<char> buffer(1 << 16);
  for (;;) {
    Result<size_t> got = (*reader)->Read(buffer.data(), buffer.size());
    ASSERT_TRUE(got.ok());
    if (*got == 0) break;
    text.append(buffer.data(), *got);
  }
  // The first two lines swapped.
  const size_t one = text.find('\n') + 1;
  const size_t two = text.find('\n', one) + 1;
  const std::string swapped = text.substr(one, two - one) + text.substr(0, one) + text.substr(two);
  ZstdWriterOptions options;
  options.header_frame = (*reader)->header_frame();
  reader->reset();
  ASSERT_TRUE(fs::remove(index));
  auto writer = ZstdFileWriter::Create(index, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(swapped.data(), swapped.size()).ok());
  ASSERT_TRUE((*writer)->Finish().ok());

  JsonRun run = RunJson(config_path_, {"diff", first, second});
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.err.find("out of path order"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(manifest->index->file), std::string::npos) << run.err;
  // What was printed before the error is still one JSON document.
  EXPECT_TRUE(run.doc.is_object()) << run.out;

  // In order but not the index the manifest recorded: damaged.
  ASSERT_TRUE(fs::remove(index));
  auto rewriter = ZstdFileWriter::Create(index, options);
  ASSERT_TRUE(rewriter.ok()) << rewriter.status().ToString();
  const std::string shortened = text.substr(0, text.rfind('\n', text.size() - 2) + 1);
  ASSERT_TRUE((*rewriter)->Write(shortened.data(), shortened.size()).ok());
  ASSERT_TRUE((*rewriter)->Finish().ok());
  JsonRun damaged = RunJson(config_path_, {"diff", first, second});
  EXPECT_EQ(damaged.exit_code, 1) << damaged.out;
  EXPECT_NE(damaged.err.find("is damaged (SHA-256"), std::string::npos) << damaged.err;
}

class DiffS3Test : public DiffFixture<S3NodeTest> {};

TEST_F(DiffS3Test, DiffThroughTheBucket) {
  S3_NODE_TEST_OR_SKIP();
  const auto [first, second] = TwoSets();
  ExpectTheDifferences(RunJson(config_path_, {"diff", first, second}), first, second);
}

}  // namespace
}  // namespace testing
}  // namespace gb
