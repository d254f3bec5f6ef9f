// End-to-end tests of `govern-backup backup` on generated Govern nodes and a real PostgreSQL.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "coordinator/commands.h"
#include "coordinator/manifest.h"
#include "coordinator/pair_identity.h"
#include "io/atomic_file.h"
#include "io/env.h"
#include "io/sha256.h"
#include "io/zstd_file.h"
#include "sandbox/throwaway_cluster.h"
#include "tests/support/faulty_store.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kDefaultExcludes = BackupConfig::DefaultExcludes();

int Shell(const std::string& command) { return std::system(command.c_str()); }

std::string ReadText(const std::string& path) {
  Result<std::string> text = ReadWholeFile(path);
  return text.ok() ? *text : "";
}

int CountLines(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The real Env, except that the atomic write of the manifest fails, as a full disk would.
class BackupTest : public GovernNodeTest {
 protected:
  Manifest LoadManifest(const std::string& id) {
    Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    return manifest.ok() ? *manifest : Manifest{};
  }
  bool HasCompleteSet() {
    for (const auto& id : SetIds())
      if (fs::exists(repo_ + "/" + id + "/manifest.toml")) return true;
    return false;
  }
  // A backup refused before DSS is touched: exit 1 naming why, DSS untouched, no set.
  void ExpectRefusedWithDssUntouched(const std::string& reason) {
    std::string before = ReadText(node_.events_log());
    CommandResult result = Run({"backup"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_NE(result.err.find(reason), std::string::npos) << result.err;
    EXPECT_EQ(ReadText(node_.events_log()), before);
    EXPECT_TRUE(node_.IsRunning());
    EXPECT_FALSE(HasCompleteSet());
  }
  // Mid-capture: DSS is down and the data-dir half is being written into <repo>/<ID>/ (a
  // temporary file until the half is complete).
  bool ArchiveBeingWritten() {
    std::error_code error;
    for (const auto& set : fs::directory_iterator(repo_, error))
      for (const auto& file : fs::directory_iterator(set.path(), error))
        if (IsHalfBeingWritten(file.path())) return true;
    return false;
  }
  // Makes the capture slow enough to interrupt: maximal compression of incompressible data.
  void MakeBackupSlow() {
    Shell("head -c 48000000 /dev/urandom > " + node_.data_dir + "/managed_folders/slow.bin && chown " +
          std::to_string(node_.owner_uid) + " " + node_.data_dir + "/managed_folders/slow.bin");
    WriteConfig("[backup]\ncompression_level = 19\nthreads = 1\n");
  }
};

TEST_F(BackupTest, HalvesRestoreByHandToTheSameFilesAndRows) {
  auto live_tree = TreeDigest(node_.data_dir, kDefaultExcludes);
  auto live_rows = DatabaseDigest(db_);
  std::string id = BackupOk();
  ASSERT_FALSE(id.empty());
  Manifest manifest = LoadManifest(id);
  std::string set_dir = repo_ + "/" + id;

  // The data-dir half with zstd and tar alone.
  std::string extracted = root_ + "/by-hand";
  fs::create_directories(extracted);
  ASSERT_EQ(Shell("zstd -dc " + set_dir + "/" + manifest.datadir.file + " | tar -xpf - -C " + extracted), 0);
  EXPECT_TRUE(fs::exists(extracted + "/.govern-backup/pair.toml"));
  fs::remove_all(extracted + "/.govern-backup");
  EXPECT_EQ(TreeDigest(extracted), live_tree);
  for (const auto& excluded : kDefaultExcludes) EXPECT_FALSE(fs::exists(extracted + "/" + excluded)) << excluded;

  // The database half with zstd and pg_restore alone, into a new database.
  ConnectionParams copy = FreshDatabase(dbname_ + "_byhand");
  std::string restore = "zstd -dc " + set_dir + "/" + manifest.database->file + " | PGPASSFILE=" +
                        SharedCluster().password_file() + " " + SharedCluster().bin_dir() +
                        "/pg_restore --no-owner -h " + copy.host + " -p " + std::to_string(copy.port) +
                        " -U " + copy.user + " -d " + copy.dbname;
  ASSERT_EQ(Shell(restore), 0) << restore;
  EXPECT_EQ(DatabaseDigest(copy), live_rows);
}

TEST_F(BackupTest, ManifestRecordsTheTruthAndBothHalvesCarryThePair) {
  std::string id = BackupOk({"--note", "before upgrade"});
  Manifest manifest = LoadManifest(id);
  std::string set_dir = repo_ + "/" + id;
  EXPECT_EQ(manifest.id, id);
  EXPECT_EQ(manifest.consistency, Consistency::kOffline);
  EXPECT_EQ(manifest.note, "before upgrade");
  EXPECT_EQ(manifest.node.node_type, "govern");
  EXPECT_EQ(manifest.node.dss_version, "14.4.1");
  EXPECT_EQ(manifest.node.conf_version, "14400");
  EXPECT_EQ(manifest.pair_token.size(), 32u);
  ASSERT_TRUE(manifest.database.has_value());
  EXPECT_EQ(manifest.database->dbname, dbname_);
  EXPECT_EQ(manifest.database->server_version.substr(0, 3), "15.");
  EXPECT_FALSE(manifest.database->table_rows.empty());
  EXPECT_GT(manifest.datadir.files, 100u);

  for (auto [file, sha, bytes, role] :
       {std::make_tuple(manifest.datadir.file, manifest.datadir.sha256, manifest.datadir.bytes, "datadir"),
        std::make_tuple(manifest.database->file, manifest.database->sha256, manifest.database->bytes, "database")}) {
    std::string path = set_dir + "/" + file;
    EXPECT_EQ(*Sha256::OfFile(path), sha) << file;
    EXPECT_EQ(fs::file_size(path), bytes) << file;
    struct stat info {};
    ::stat(path.c_str(), &info);
    EXPECT_EQ(info.st_mode & 0777, 0600u) << file;
    Result<PairIdentity> identity = PairIdentity::Parse(*ReadHeaderFrame(path), file);
    ASSERT_TRUE(identity.ok()) << identity.status().ToString();
    EXPECT_EQ(identity->id, id);
    EXPECT_EQ(identity->pair_token, manifest.pair_token);
    EXPECT_EQ(identity->role, role);
  }
  std::string member = root_ + "/pair-member.toml";
  ASSERT_EQ(Shell("zstd -dc " + set_dir + "/" + manifest.datadir.file + " | tar -xOf - .govern-backup/pair.toml > " + member), 0);
  EXPECT_NE(ReadText(member).find(manifest.pair_token), std::string::npos);

  struct stat info {};
  ::stat(set_dir.c_str(), &info);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  CommandResult shown = Run({"show", id, "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  nlohmann::json json = nlohmann::json::parse(shown.out);
  EXPECT_EQ(json["pair_token"], manifest.pair_token);
  EXPECT_EQ(json["consistency"], "offline");
  EXPECT_EQ(json["datadir"]["sha256"], manifest.datadir.sha256);
}

TEST_F(BackupTest, OfflineStopsDssOnceAndStartsItAgain) {
  std::string before = ReadText(node_.events_log());
  std::string id = BackupOk();
  std::string events = ReadText(node_.events_log()).substr(before.size());
  EXPECT_EQ(CountLines(events, " stop"), 1) << events;
  EXPECT_EQ(CountLines(events, " start"), 1) << events;
  EXPECT_LT(events.find(" stop"), events.find(" start"));
  EXPECT_TRUE(node_.IsRunning());
  Manifest manifest = LoadManifest(id);
  EXPECT_TRUE(manifest.window.dss_stopped_at.has_value());
  EXPECT_TRUE(manifest.window.dss_started_at.has_value());
  EXPECT_GT(manifest.window.downtime_seconds, 0.0);
}

TEST_F(BackupTest, OnlineNeverStopsDssAndRecordsChanges) {
  std::ofstream(node_.switch_path("churn")).put('\n');
  std::string before = ReadText(node_.events_log());
  std::string id = BackupOk({"--online"});
  std::string events = ReadText(node_.events_log()).substr(before.size());
  EXPECT_EQ(CountLines(events, " stop"), 0) << events;
  Manifest manifest = LoadManifest(id);
  EXPECT_EQ(manifest.consistency, Consistency::kOnline);
  EXPECT_FALSE(manifest.window.dss_stopped_at.has_value());
  EXPECT_TRUE(node_.IsRunning());
  fs::remove(node_.switch_path("churn"));
}

TEST_F(BackupTest, DssAlreadyStoppedStaysStopped) {
  ASSERT_TRUE(RunDss("stop").ok());
  ASSERT_FALSE(node_.IsRunning());
  std::string id = BackupOk();
  EXPECT_FALSE(node_.IsRunning());
  EXPECT_FALSE(LoadManifest(id).window.dss_was_running);
}

TEST_F(BackupTest, MigrationInProgressIsRefusedWithoutStoppingDss) {
  std::ofstream(node_.data_dir + "/DSS-MIGRATION-IN-PROGRESS.json") << "{}\n";
  ExpectRefusedWithDssUntouched("migration");
}

TEST_F(BackupTest, UnreachableDatabaseIsRefusedWithoutStoppingDss) {
  std::ofstream(config_path_, std::ios::trunc)
      << "[node]\ndata_dir = \"" << node_.data_dir << "\"\n[database]\nport = 1\npassword_file = \""
      << SharedCluster().password_file() << "\"\n[repository]\npath = \"" << repo_ << "\"\n";
  ExpectRefusedWithDssUntouched("not reachable");
}

TEST_F(BackupTest, DryRunTouchesNothing) {
  std::string before = ReadText(node_.events_log());
  CommandResult result = Run({"backup", "--dry-run"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("exclude tmp"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("dump:"), std::string::npos) << result.out;
  EXPECT_EQ(ReadText(node_.events_log()), before);
  EXPECT_FALSE(fs::exists(repo_));
}

TEST_F(BackupTest, SnapshotProcedureArchivesTheSnapshotAndAlwaysDestroysIt) {
  // A copy stands in for an LVM snapshot: same procedure, same guarantees.
  std::string snap = root_ + "/snapshot";
  WriteConfig("[snapshot]\ncreate = \"cp -a " + node_.data_dir + " " + snap + "\"\npath = \"" + snap +
              "\"\ndestroy = \"rm -rf " + snap + "\"\n");
  auto live_tree = TreeDigest(node_.data_dir, kDefaultExcludes);
  std::string before = ReadText(node_.events_log());
  std::string id = BackupOk();
  Manifest manifest = LoadManifest(id);
  EXPECT_EQ(manifest.consistency, Consistency::kSnapshot);
  EXPECT_FALSE(fs::exists(snap)) << "destroy must run";
  std::string events = ReadText(node_.events_log()).substr(before.size());
  EXPECT_EQ(CountLines(events, " stop"), 1) << events;
  EXPECT_EQ(CountLines(events, " start"), 1) << events;
  EXPECT_TRUE(node_.IsRunning());
  std::string extracted = root_ + "/from-snapshot";
  fs::create_directories(extracted);
  ASSERT_EQ(Shell("zstd -dc " + repo_ + "/" + id + "/" + manifest.datadir.file + " | tar -xpf - -C " +
                  extracted + " --exclude=.govern-backup"), 0);
  EXPECT_EQ(TreeDigest(extracted), live_tree);
}

TEST_F(BackupTest, SnapshotIsDestroyedAndDssRunningWhenTheCaptureFails) {
  std::string snap = root_ + "/snapshot";
  WriteConfig("[snapshot]\ncreate = \"mkdir -p " + snap + "\"\npath = \"" + snap +
              "/not-mounted\"\ndestroy = \"rm -rf " + snap + "\"\n");
  CommandResult result = Run({"backup"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_FALSE(fs::exists(snap)) << "destroy must run after a failure";
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_TRUE(SetIds().empty());
}

class InterruptTest : public BackupTest, public ::testing::WithParamInterface<int> {};

TEST_P(InterruptTest, SignalMidBackupLeavesDssRunningAndNoSet) {
  MakeBackupSlow();
  std::string before = ReadText(node_.events_log());
  auto backup = Start({"backup"});
  ASSERT_NE(backup, nullptr);
  ASSERT_TRUE(WaitFor([&] { return ReadText(node_.events_log()).size() > before.size(); },
                      std::chrono::seconds(60)));
  ASSERT_TRUE(WaitFor([&] { return ArchiveBeingWritten(); }, std::chrono::seconds(60)));
  ::kill(backup->pid(), GetParam());
  ExitInfo exit = backup->Wait();
  EXPECT_NE(exit.exit_code, 0) << exit.stderr_text;
  EXPECT_NE(exit.stderr_text.find("interrupted"), std::string::npos) << exit.stderr_text;
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_TRUE(SetIds().empty());
  EXPECT_TRUE(!fs::exists(repo_ + "/.work") || fs::is_empty(repo_ + "/.work"));
}

INSTANTIATE_TEST_SUITE_P(Signals, InterruptTest, ::testing::Values(SIGTERM, SIGINT));

TEST_F(BackupTest, SigkillLeavesNoCompleteSetAndTheNextBackupWorks) {
  MakeBackupSlow();
  std::string before = ReadText(node_.events_log());
  auto backup = Start({"backup"});
  ASSERT_NE(backup, nullptr);
  ASSERT_TRUE(WaitFor([&] { return ReadText(node_.events_log()).size() > before.size(); },
                      std::chrono::seconds(60)));
  ASSERT_TRUE(WaitFor([&] { return ArchiveBeingWritten(); }, std::chrono::seconds(60)));
  ::kill(backup->pid(), SIGKILL);
  backup->Wait();
  EXPECT_FALSE(HasCompleteSet());
  WriteConfig();
  fs::remove(node_.data_dir + "/managed_folders/slow.bin");
  std::string id = BackupOk();
  EXPECT_FALSE(id.empty());
  EXPECT_TRUE(HasCompleteSet());
}

TEST_F(BackupTest, SecondConcurrentBackupExitsFiveWhileTheFirstCompletes) {
  MakeBackupSlow();
  auto first = Start({"backup"});
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(WaitFor([&] { return !ReadText(repo_ + "/.lock").empty(); }, std::chrono::seconds(60)));
  CommandResult second = Run({"backup"});
  EXPECT_EQ(second.exit_code, 5) << second.err;
  EXPECT_NE(second.err.find("backup (pid"), std::string::npos) << second.err;
  ExitInfo exit = first->Wait();
  EXPECT_EQ(exit.exit_code, 0) << exit.stderr_text;
  EXPECT_EQ(SetIds().size(), 1u);
}

TEST_F(BackupTest, UnderUmask000EveryDirectoryItCreatesIs0700) {
  std::string repo = root_ + "/fresh/two-levels/repo";
  std::ofstream(config_path_, std::ios::trunc)
      << "[node]\ndata_dir = \"" << node_.data_dir << "\"\n[database]\npassword_file = \""
      << SharedCluster().password_file() << "\"\npg_bin_dir = \"" << SharedCluster().bin_dir()
      << "\"\n[repository]\npath = \"" << repo << "\"\n";
  SubprocessOptions options;
  options.argv = {"/bin/sh", "-c", "umask 000 && exec \"$0\" \"$@\"", GOVERN_BACKUP_BINARY,
                  "--config", config_path_, "backup"};
  options.timeout = std::chrono::minutes(2);
  Result<ExitInfo> exit = RunSubprocess(options);
  ASSERT_TRUE(exit.ok()) << exit.status().ToString();
  ASSERT_TRUE(exit->success()) << exit->Describe() << "\n" << exit->stderr_text;
  std::vector<std::string> made = {root_ + "/fresh", root_ + "/fresh/two-levels", repo};
  for (const auto& entry : fs::recursive_directory_iterator(repo))
    if (entry.is_directory()) made.push_back(entry.path().string());
  EXPECT_GE(made.size(), 4u);  // the set too
  for (const std::string& dir : made) {
    struct stat info {};
    ASSERT_EQ(::stat(dir.c_str(), &info), 0) << dir;
    EXPECT_EQ(info.st_mode & 07777, 0700u) << dir;
  }
}

TEST_F(BackupTest, AFailedManifestWriteLeavesNothingOfTheSetAndDssRunning) {
  GlobalOptions global;
  global.config_path = config_path_;
  global.wrap_store = testing::FaultyStore::Wrapper([](testing::FaultyStore& store) {
    store.fail_put = [](const std::string& key) { return key.find("manifest") != std::string::npos; };
  });
  Status status = RunBackup(global, BackupOptions{});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("injected failure writing "), std::string::npos)
      << status.ToString();
  EXPECT_TRUE(SetIds().empty());
  for (const auto& entry : fs::directory_iterator(repo_))  // the halves went with the set
    EXPECT_EQ(entry.path().filename(), ".lock") << entry.path();
  EXPECT_TRUE(node_.IsRunning());
}

TEST_F(BackupTest, PgDumpFailingHalfWayYieldsNoSet) {
  // A pg_dump that writes part of a real dump, then fails, as a crash mid-dump would.
  std::string bin = root_ + "/failing-bin";
  fs::create_directories(bin);
  std::string real = SharedCluster().bin_dir();
  std::ofstream(bin + "/pg_dump")
      << "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = --version ] && exec " << real << "/pg_dump --version; done\n"
      << real << "/pg_dump \"$@\" | head -c 20000\necho 'pg_dump: error: connection lost' >&2\nexit 1\n";
  fs::permissions(bin + "/pg_dump", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                        fs::perms::others_read | fs::perms::others_exec);
  fs::create_symlink(real + "/pg_restore", bin + "/pg_restore");
  std::ofstream(config_path_, std::ios::trunc)
      << "[node]\ndata_dir = \"" << node_.data_dir << "\"\n[database]\npg_bin_dir = \"" << bin
      << "\"\npassword_file = \"" << SharedCluster().password_file() << "\"\n[repository]\npath = \""
      << repo_ << "\"\n";
  CommandResult result = Run({"backup"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("pg_dump"), std::string::npos) << result.err;
  EXPECT_TRUE(SetIds().empty());
  EXPECT_TRUE(node_.IsRunning());
}

}  // namespace
}  // namespace testing
}  // namespace gb
