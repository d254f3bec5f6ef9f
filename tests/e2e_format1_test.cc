// End-to-end test of compatibility with sets written by govern-backup 0.1.0 (manifest format
// 1: no type, no index, one zstd stream per half): a set made by the 0.1.0 binary
// (tests/testdata/set-0.1.0, see its README) is listed, shown, verified (--deep), restored
// onto a real PostgreSQL and pruned by the current tool, as the contract promises.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "io/files.h"
#include "io/subprocess.h"
#include "io/text.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

class Format1Test : public GovernNodeTest {
 protected:
  // The fixture's set, copied into this test's repository (the source tree stays as it is).
  void SetUp() override {
    GovernNodeTest::SetUp();
    const fs::path fixture = fs::path(GOVERN_SOURCE_DIR) / "tests/testdata/set-0.1.0";
    for (const auto& entry : fs::directory_iterator(fixture)) {
      if (!entry.is_directory()) continue;
      id_ = entry.path().filename().string();
      fs::create_directories(repo_);
      fs::copy(entry.path(), repo_ + "/" + id_, fs::copy_options::recursive);
    }
    ASSERT_FALSE(id_.empty()) << "no set in " << fixture;
    Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id_ + "/manifest.toml");
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    manifest_ = *manifest;
  }

  std::string id_;
  Manifest manifest_;
};

TEST_F(Format1Test, ASetOf010IsListedVerifiedRestoredAndPruned) {
  ASSERT_EQ(manifest_.format, 1);
  ASSERT_EQ(manifest_.tool_version, "0.1.0");
  ASSERT_FALSE(manifest_.index.has_value());

  JsonRun listed = RunJson(config_path_, {"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  ASSERT_EQ(listed.doc["sets"].size(), 1u) << listed.out;
  const nlohmann::json& set = listed.doc["sets"][0];
  EXPECT_EQ(set["id"], id_);
  EXPECT_EQ(set["status"], "complete");
  EXPECT_EQ(set["type"], "full");
  EXPECT_EQ(set["parent"], "");
  JsonRun shown = RunJson(config_path_, {"show", id_});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.doc["format"], 1);

  JsonRun verified = RunJson(config_path_, {"verify", "--deep", id_});
  ASSERT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  ASSERT_EQ(verified.doc["sets"].size(), 1u);
  EXPECT_EQ(verified.doc["sets"][0]["ok"], true);
  EXPECT_EQ(verified.doc["sets"][0]["deep"], true);

  // Restored beside the test's node, into a database of its own: the data dir is what
  // zstd and tar make of the half, the tables have the rows the manifest records.
  const std::string target = root_ + "/restored";
  const std::string dbname = dbname_ + "_f1";
  JsonRun restored = RunJson(config_path_, {"restore", id_, "--data-dir", target, "--dbname",
                                            dbname, "--yes"});
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
  const std::string by_hand = root_ + "/by-hand";
  fs::create_directories(by_hand);
  SubprocessOptions tar;
  tar.argv = {"/bin/sh", "-c",
              "zstd -dc " + ShellQuote(repo_ + "/" + id_ + "/" + manifest_.datadir.file) +
                  " | tar -x -C " + ShellQuote(by_hand)};
  Result<ExitInfo> extracted = RunSubprocess(tar);
  ASSERT_TRUE(extracted.ok() && extracted->success())
      << (extracted.ok() ? extracted->Describe() + extracted->stderr_text : "");
  EXPECT_EQ(TreeDigest(target, {".govern-backup"}), TreeDigest(by_hand, {".govern-backup"}));
  EXPECT_EQ(TreeDigest(target, {".govern-backup"}).size(), manifest_.datadir.files);
  // The database as it was when 0.1.0 took the set: DatabaseDigest of it, kept beside.
  Result<std::string> recorded = ReadWholeFile(std::string(GOVERN_SOURCE_DIR) +
                                               "/tests/testdata/set-0.1.0/database-digest.json");
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  const auto expected =
      nlohmann::json::parse(*recorded).get<std::map<std::string, std::string>>();
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(DatabaseDigest(db_.WithDatabase(dbname)), expected);
  ASSERT_TRUE(manifest_.database.has_value());
  for (const auto& [table, rows] : manifest_.database->table_rows)
    EXPECT_EQ(expected.at(table).substr(0, expected.at(table).find(':')), std::to_string(rows));

  // A newer set of the current tool, and keep_last = 1: the 0.1.0 set goes.
  WriteConfig("[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n"
              "keep_within = \"0s\"\n");
  const std::string newest = BackupOk();
  JsonRun pruned = RunJson(config_path_, {"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_EQ(SetIds(), (std::vector<std::string>{newest}));
}

}  // namespace
}  // namespace testing
}  // namespace gb
