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
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

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
  void ExpectFinding(const CommandResult& result, const std::string& words) {
    EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
    EXPECT_NE(result.out.find(words), std::string::npos) << "missing \"" << words << "\" in:\n" << result.out;
  }
};

TEST_F(AuditTest, CleanRepositoryThenStaleNewestSet) {
  CommandResult empty = Run({"audit"});
  ExpectFinding(empty, "does not exist: no backup was ever taken");

  std::string id = BackupOk();
  CommandResult clean = Run({"audit", "--max-age", "1h"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_NE(clean.out.find("audit: clean (1 set(s) checked)"), std::string::npos) << clean.out;
  EXPECT_NE(clean.out.find("newest complete set: " + id), std::string::npos) << clean.out;
  CommandResult quick = Run({"audit", "--quick"});
  EXPECT_EQ(quick.exit_code, 0) << quick.out << quick.err;
  CommandResult json = Run({"--json", "audit"});
  EXPECT_EQ(json.exit_code, 0) << json.out << json.err;
  EXPECT_NE(json.out.find("\"clean\":true"), std::string::npos) << json.out;

  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  CommandResult stale = Run({"audit", "--max-age", "1s"});
  ExpectFinding(stale, "the newest complete set " + id + " is ");
  EXPECT_NE(stale.out.find("more than --max-age 1s"), std::string::npos) << stale.out;
  EXPECT_NE(stale.out.find("what to do: backups have stopped"), std::string::npos) << stale.out;

  CommandResult bad_flag = Run({"audit", "--max-age", "soon"});
  EXPECT_EQ(bad_flag.exit_code, 2) << bad_flag.out << bad_flag.err;
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

  CommandResult result = Run({"audit"});
  ExpectFinding(result, "set " + id + ": datadir: data-dir half " + set_dir + "/" +
                            manifest->datadir.file + " is missing");
  ExpectFinding(result, "half " + stray + " belongs to no set");
  ExpectFinding(result, "it carries the datadir half of set " + id);
  ExpectFinding(result, "set directory " + incomplete + " has no manifest");
  ExpectFinding(result, "audit: 3 problem(s)");

  // --quick sees the same structure problems.
  CommandResult quick = Run({"audit", "--quick"});
  ExpectFinding(quick, "is missing");

  // Put back, the incomplete set removed by prune: clean again.
  fs::rename(stray, set_dir + "/" + manifest->datadir.file);
  CommandResult pruned = Run({"prune"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  CommandResult clean = Run({"audit"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
}

TEST_F(AuditTest, KilledBackupLeavesLeftoverAndStoppedDss) {
  BackupOk();
  // A backup slow enough to be killed in the middle of its capture, with DSS stopped.
  std::string big = node_.data_dir + "/managed_folders/slow.bin";
  ASSERT_EQ(std::system(("head -c 24000000 /dev/urandom > " + big).c_str()), 0);
  ::chown(big.c_str(), node_.owner_uid, node_.owner_gid);
  WriteConfig("[backup]\ncompression_level = 19\nthreads = 1\n");

  std::unique_ptr<Subprocess> backup = Start({"backup"});
  ASSERT_NE(backup, nullptr);
  std::string work = repo_ + "/.work";
  bool capturing = WaitFor(
      [&] {
        std::error_code error;
        for (const auto& dir : fs::directory_iterator(work, error))
          for (const auto& file : fs::directory_iterator(dir.path(), error))
            if (file.path().string().find(".datadir.tar.zst") != std::string::npos) return true;
        return false;
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(capturing);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  backup->Signal(SIGKILL);
  backup->Wait();

  CommandResult result = Run({"audit"});
  ExpectFinding(result, "leftover of an interrupted backup: " + work + "/");
  ExpectFinding(result, "DSS is stopped and a backup was interrupted");
  ExpectFinding(result, "bin/dss start");

  // prune clears the leftover (DSS is the admin's to start).
  CommandResult pruned = Run({"prune"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_NE(pruned.out.find("leftover of an interrupted backup"), std::string::npos) << pruned.out;
  std::error_code error;
  EXPECT_TRUE(fs::is_empty(work, error));
  CommandResult after = Run({"audit"});
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
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

  CommandResult result = Run({"audit"});
  ExpectFinding(result, "leftover of an interrupted restore: " + node_.data_dir + ".restore-" + id);
  ExpectFinding(result, "database " + dbname_ + "_restore_1a2b3c is the leftover of an interrupted restore");
  ExpectFinding(result, "node upgraded since the last backup: DSS 14.5.0, the newest set " + id +
                            " has 14.4.1");
  ExpectFinding(result, "take a new backup now");
  EXPECT_NE(result.out.find("the live node was restored from set " + id), std::string::npos) << result.out;
}

}  // namespace
}  // namespace testing
}  // namespace gb
