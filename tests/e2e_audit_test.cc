// End-to-end tests of `govern-backup audit`: a clean repository exits 0; a stale newest set, a
// missing half, an orphan half, a manifest-less set directory, the leftover of a backup killed
// with SIGKILL (and the DSS it left stopped), the staging directory and database of an
// interrupted restore, and a node upgraded since the last backup each
// exit 3 with a finding that says what to do.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "coordinator/manifest.h"
#include "coordinator/restore_marker.h"
#include "io/atomic_file.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

void ReplaceInFile(const std::string& path, const std::string& from, const std::string& to) {
  Result<std::string> text = ReadWholeFile(path);
  ASSERT_TRUE(text.ok()) << path;
  std::string content = *text;
  size_t at = content.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << path;
  content.replace(at, from.size(), to);
  std::ofstream(path, std::ios::trunc) << content;
}

class AuditTest : public GovernNodeTest {
 protected:
  // audit --json exits 3 (problems) and says so.
  JsonRun AuditWithProblems(const std::vector<std::string>& flags = {}) {
    std::vector<std::string> args = {"audit"};
    args.insert(args.end(), flags.begin(), flags.end());
    JsonRun run = RunJson(config_path_, args);
    EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
    EXPECT_EQ(run.doc["command"], "audit");
    EXPECT_EQ(run.doc["ok"], false);
    return run;
  }
  // audit --json exits 0 with no problem.
  JsonRun AuditClean(const std::vector<std::string>& flags = {}) {
    std::vector<std::string> args = {"audit"};
    args.insert(args.end(), flags.begin(), flags.end());
    JsonRun run = RunJson(config_path_, args);
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    EXPECT_EQ(run.doc["ok"], true);
    EXPECT_TRUE(Problems(run.doc).empty()) << run.out;
    return run;
  }
};

TEST_F(AuditTest, CleanRepositoryThenStaleNewestSet) {
  JsonRun empty = AuditWithProblems();
  EXPECT_TRUE(HasProblem(empty.doc, "repository", "does not exist: no backup was ever taken"));

  std::string id = BackupOk();
  JsonRun clean = AuditClean({"--max-age", "1h"});
  EXPECT_EQ(clean.doc["sets_checked"], 1);
  EXPECT_EQ(clean.doc["quick"], false);
  EXPECT_LT(clean.doc["newest_age_seconds"].get<int64_t>(), 3600);
  EXPECT_TRUE(HasOk(clean.doc, "newest set", id));
  JsonRun quick = AuditClean({"--quick"});
  EXPECT_EQ(quick.doc["quick"], true);

  // Three hours later (the binary's clock only): the newest set is older than --max-age 2h.
  JsonRun stale = RunJson(config_path_, {"audit", "--max-age", "2h"}, FakeClockAhead(3 * 3600));
  EXPECT_EQ(stale.exit_code, 3) << stale.out << stale.err;
  EXPECT_GE(stale.doc["newest_age_seconds"].get<int64_t>(), 3 * 3600);
  EXPECT_TRUE(HasProblem(stale.doc, id, "the newest complete set " + id + " is 3h", "backups have stopped"));
  EXPECT_TRUE(HasProblem(stale.doc, id, "more than --max-age 2h"));
  EXPECT_EQ(Problems(stale.doc).size(), 1u) << stale.out;

  CommandResult bad_flag = Run({"audit", "--max-age", "soon"});
  EXPECT_EQ(bad_flag.exit_code, 2) << bad_flag.out << bad_flag.err;
}

// The text layout itself: problems with their hints, ok lines, then one summary line.
TEST_F(AuditTest, TextLayout) {
  std::string id = BackupOk();
  CommandResult clean = Run({"audit"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_NE(clean.out.find("ok    newest set: " + id + " ("), std::string::npos) << clean.out;
  EXPECT_NE(clean.out.find("\naudit: clean (1 set(s) checked)\n"), std::string::npos) << clean.out;

  std::string incomplete = repo_ + "/20200101T000000Z-abcdef";
  fs::create_directories(incomplete);
  CommandResult problem = Run({"audit"});
  EXPECT_EQ(problem.exit_code, 3) << problem.out << problem.err;
  EXPECT_EQ(problem.out.rfind("FAIL  20200101T000000Z-abcdef: set directory " + incomplete +
                                  " has no manifest",
                              0),
            0u)
      << problem.out;
  EXPECT_NE(problem.out.find("\n      hint: an interrupted backup or prune left it"), std::string::npos)
      << problem.out;
  EXPECT_NE(problem.out.find("\naudit: 1 problem(s)\n"), std::string::npos) << problem.out;
}

TEST_F(AuditTest, MissingHalfOrphanHalfAndIncompleteSetAreFindings) {
  std::string id = BackupOk();
  std::string set_dir = repo_ + "/" + id;
  Result<Manifest> manifest = Manifest::Load(set_dir + "/manifest.toml");
  ASSERT_TRUE(manifest.ok());

  // The data-dir half moved out of its set into the repository root: a missing half, and an
  // orphan half that says which set it belongs to.
  std::string stray = repo_ + "/" + manifest->datadir.file;
  fs::rename(set_dir + "/" + manifest->datadir.file, stray);
  // A set directory without a manifest.
  std::string incomplete = repo_ + "/20200101T000000Z-abcdef";
  fs::create_directories(incomplete);
  std::ofstream(incomplete + "/20200101T000000Z-abcdef.datadir.tar.zst") << "partial";

  JsonRun result = AuditWithProblems();
  EXPECT_TRUE(HasProblem(result.doc, "set " + id + " data-dir half",
                         "data-dir half " + set_dir + "/" + manifest->datadir.file + " is missing"));
  EXPECT_TRUE(HasProblem(result.doc, stray, "half " + stray + " belongs to no set"));
  EXPECT_TRUE(HasProblem(result.doc, stray, "it carries the datadir half of set " + id));
  EXPECT_TRUE(HasProblem(result.doc, "20200101T000000Z-abcdef",
                         "set directory " + incomplete + " has no manifest", "govern-backup prune"));
  EXPECT_EQ(Problems(result.doc).size(), 3u) << result.out;

  // --quick sees the same structure problems.
  JsonRun quick = AuditWithProblems({"--quick"});
  EXPECT_TRUE(HasProblem(quick.doc, "set " + id + " data-dir half", "is missing"));

  // Put back, the incomplete set removed by prune: clean again.
  fs::rename(stray, set_dir + "/" + manifest->datadir.file);
  CommandResult pruned = Run({"prune"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  AuditClean();
}

TEST_F(AuditTest, KilledBackupLeavesLeftoverAndStoppedDss) {
  BackupOk();
  // A backup slow enough to be killed in the middle of its capture, with DSS stopped.
  std::string big = node_.data_dir + "/managed_folders/slow.bin";
  ASSERT_EQ(std::system(("head -c 24000000 /dev/urandom > " + big).c_str()), 0);
  ::chown(big.c_str(), node_.owner_uid, node_.owner_gid);
  WriteConfig("[backup]\ncompression_level = 19\nthreads = 1\n");
  // DSS runs during the first pass and is down only for the second: a DSS that never comes
  // back keeps the backup in its DSS window, its half unfinished, until it is killed.
  const std::string hang = node_.control_dir + "/hang-start";
  ASSERT_TRUE(WriteFile(hang, "", 0644).ok());

  std::unique_ptr<Subprocess> backup = Start({"backup"});
  ASSERT_NE(backup, nullptr);
  std::string set_dir;  // the new set's directory, its data-dir half being written
  bool capturing = testing::WaitUntil(
      [&] {
        std::error_code error;
        if (node_.IsRunning()) return false;
        for (const auto& dir : fs::directory_iterator(repo_, error))
          for (const auto& file : fs::directory_iterator(dir.path(), error))
            if (IsHalfBeingWritten(file.path())) {
              set_dir = dir.path().string();
              return true;
            }
        return false;
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(capturing);  // DSS stopped, the data-dir half not finished
  backup->Signal(SIGKILL);
  backup->Wait();
  fs::remove(hang);

  JsonRun result = AuditWithProblems();
  EXPECT_TRUE(HasProblem(result.doc, fs::path(set_dir).filename().string(),
                         "set directory " + set_dir + " has no manifest", "govern-backup prune"));
  EXPECT_TRUE(HasProblem(result.doc, "node", "DSS is stopped and a backup was interrupted",
                         "bin/dss start"));

  // prune clears the leftover (DSS is the admin's to start).
  CommandResult pruned = Run({"prune"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_NE(pruned.out.find("incomplete: no manifest"), std::string::npos) << pruned.out;
  EXPECT_FALSE(fs::exists(set_dir));
  AuditClean();
}

TEST_F(AuditTest, NodeUpgradedRestoreLeftoversAndRestoredFrom) {
  std::string id = BackupOk();
  ReplaceInFile(node_.data_dir + "/dss-version.json", "\"14.4.1\"", "\"14.5.0\"");
  ReplaceInFile(node_.install_dir + "/dss-version.json", "\"14.4.1\"", "\"14.5.0\"");
  fs::create_directories(node_.data_dir + "/.govern-backup");
  std::ofstream(node_.data_dir + "/" + kRestoredFromMarker)
      << "id = \"" << id << "\"\npair_token = \"0123\"\nrestored_at = 2026-11-24T08:15:00Z\n";

  // What an interrupted restore leaves: its staging directory and staging database.
  fs::create_directories(node_.data_dir + ".restore-" + id + "/config");
  {
    pqxx::connection admin(SharedCluster().SuperuserParams().WithDatabase("postgres").ConnectionString());
    pqxx::nontransaction work(admin);
    work.exec("CREATE DATABASE " + work.quote_name(dbname_ + "_restore_1a2b3c"));
  }

  JsonRun result = AuditWithProblems();
  const std::string staging = node_.data_dir + ".restore-" + id;
  EXPECT_TRUE(HasProblem(result.doc, staging, "leftover of an interrupted restore: " + staging,
                         "rm -rf " + staging));
  EXPECT_TRUE(HasProblem(result.doc, "database",
                         "database " + dbname_ + "_restore_1a2b3c is the leftover of an interrupted restore",
                         "dropdb " + dbname_ + "_restore_1a2b3c"));
  EXPECT_TRUE(HasProblem(result.doc, "node",
                         "node upgraded since the last backup: DSS 14.5.0, the newest set " + id +
                             " has 14.4.1",
                         "take a new backup now"));
  EXPECT_TRUE(HasOk(result.doc, "node", "the live node was restored from set " + id));
}

}  // namespace
}  // namespace testing
}  // namespace gb
