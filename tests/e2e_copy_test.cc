// End-to-end tests of copies between repositories (here two local ones; the S3 suites run
// them through a bucket): `copy --to NAME`, `backup --copy-to NAME` (exit 6 when only the copy
// fails), `list` saying where each set exists, each repository's own retention, and `check`
// looking at every configured repository.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "io/files.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

class CopyTest : public GovernNodeTest {
 protected:
  void SetUp() override {
    GovernNodeTest::SetUp();
    second_ = root_ + "/second";
    WriteWithSecond("");
  }
  void WriteWithSecond(const std::string& second_extra, const std::string& extra = "") {
    WriteConfig("[repositories.second]\npath = \"" + second_ + "\"\n" + second_extra + "\n" + extra);
  }
  std::vector<std::string> SecondIds() {
    std::vector<std::string> ids;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(second_, error))
      if (fs::exists(entry.path() / "manifest.toml")) ids.push_back(entry.path().filename());
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  std::string second_;
};

TEST_F(CopyTest, CopyTakesWhatTheTargetLacksAndARerunCopiesNothing) {
  const std::string first = BackupOkInItsOwnSecond(), second = BackupOk();
  JsonRun copied = RunJson(config_path_, {"copy", "--to", "second"});
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  EXPECT_EQ(copied.doc["copied"], nlohmann::json({first, second}));
  EXPECT_EQ(SecondIds(), (std::vector<std::string>{first, second}));
  // The copy is byte for byte: the manifest's own bytes, and halves that verify there.
  EXPECT_EQ(ReadWholeFile(second_ + "/" + first + "/manifest.toml").value(),
            ReadWholeFile(repo_ + "/" + first + "/manifest.toml").value());
  JsonRun verify = RunJson(config_path_, {"--repo", "second", "verify", "--all"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  JsonRun again = RunJson(config_path_, {"copy", "--to", "second"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(again.doc["copied"].empty()) << again.out;
  EXPECT_EQ(again.doc["already_there"], nlohmann::json({first, second}));

  // list says where each set exists, from either side.
  JsonRun listed = RunJson(config_path_, {"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  for (const auto& set : listed.doc["sets"]) EXPECT_EQ(set["also_in"], nlohmann::json({"second"}));
  fs::remove_all(repo_ + "/" + first);
  JsonRun from_second = RunJson(config_path_, {"--repo", "second", "list"});
  ASSERT_EQ(from_second.exit_code, 0) << from_second.err;
  ASSERT_EQ(from_second.doc["sets"].size(), 2u) << from_second.out;
  EXPECT_EQ(from_second.doc["sets"][0]["id"], first);
  EXPECT_EQ(from_second.doc["sets"][0]["also_in"], nlohmann::json::array());
  EXPECT_EQ(from_second.doc["sets"][1]["also_in"], nlohmann::json({"main"}));
}

TEST_F(CopyTest, ADamagedHalfIsNotCopiedAndLeavesNothingInTheTarget) {
  std::string id = BackupOk();
  Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
  ASSERT_TRUE(manifest.ok());
  {
    std::fstream half(repo_ + "/" + id + "/" + manifest->datadir.file,
                      std::ios::in | std::ios::out | std::ios::binary);
    half.seekp(200);
    half.put('\x5a');
  }
  CommandResult copied = Run({"copy", "--to", "second"});
  EXPECT_EQ(copied.exit_code, 1) << copied.out << copied.err;
  EXPECT_NE(copied.err.find("is not what its manifest records"), std::string::npos) << copied.err;
  EXPECT_NE(copied.err.find(manifest->datadir.file), std::string::npos) << copied.err;
  EXPECT_TRUE(SecondIds().empty());
  EXPECT_FALSE(fs::exists(second_ + "/" + id)) << "the half-copied set went";
}

TEST_F(CopyTest, BackupCopyToAFailingTargetExitsSixWithTheSetComplete) {
  // A target that cannot be created: its parent is a file.
  std::ofstream(root_ + "/not-a-dir") << "x";
  second_ = root_ + "/not-a-dir/second";
  WriteWithSecond("");
  CommandResult backup = Run({"backup", "--copy-to", "second"});
  EXPECT_EQ(backup.exit_code, 6) << backup.out << backup.err;
  EXPECT_NE(backup.err.find("copy --to second"), std::string::npos) << backup.err;
  ASSERT_EQ(SetIds().size(), 1u);
  JsonRun verify = RunJson(config_path_, {"verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_TRUE(node_.IsRunning());

  CommandResult unknown = Run({"backup", "--copy-to", "nowhere"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_EQ(SetIds().size(), 1u) << "a wrong name is refused before any backup";
}

TEST_F(CopyTest, BackupCopyToCopiesTheNewSet) {
  std::string id = BackupOk({"--copy-to", "second"});
  EXPECT_EQ(SecondIds(), (std::vector<std::string>{id}));
}

TEST_F(CopyTest, EachRepositoryPrunesByItsOwnRetention) {
  WriteWithSecond("[repositories.second.retention]\nkeep_last = 1\nkeep_daily = 0\n"
                  "keep_weekly = 0\nkeep_monthly = 0\nkeep_within = \"0s\"\n");
  BackupOkInItsOwnSecond({"--full"});  // full: the newest set builds on no other
  std::string newest = BackupOk({"--full"});
  ASSERT_EQ(RunJson(config_path_, {"copy", "--to", "second"}).exit_code, 0);
  JsonRun pruned_second = RunJson(config_path_, {"--repo", "second", "prune"});
  ASSERT_EQ(pruned_second.exit_code, 0) << pruned_second.out << pruned_second.err;
  EXPECT_EQ(SecondIds(), (std::vector<std::string>{newest}));
  JsonRun pruned_main = RunJson(config_path_, {"prune"});
  ASSERT_EQ(pruned_main.exit_code, 0) << pruned_main.out << pruned_main.err;
  EXPECT_EQ(SetIds().size(), 2u) << "[retention] keeps both";
}

TEST_F(CopyTest, CheckLooksAtEveryRepository) {
  JsonRun check = RunJson(config_path_, {"check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_FALSE(FindingsAbout(check.doc, "repository second").empty()) << check.out;
  std::ofstream(root_ + "/not-a-dir") << "x";
  second_ = root_ + "/not-a-dir/second";
  WriteWithSecond("");
  JsonRun failing = RunJson(config_path_, {"check"});
  EXPECT_EQ(failing.exit_code, 1) << failing.out;
  EXPECT_TRUE(HasProblem(failing.doc, "repository second", "cannot be created"));
  EXPECT_NE(failing.err.find("a backup is possible, but copies would fail"), std::string::npos)
      << failing.err;
}

}  // namespace
}  // namespace testing
}  // namespace gb
