// End-to-end tests of `govern-backup restore` on generated Govern nodes and a real
// PostgreSQL: the round trip, the refusals (exit 4, nothing touched), the rollbacks (exit 1,
// everything as before), dry run, confirmation, and restores somewhere else.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>

#include <gtest/gtest.h>

#include "coordinator/commands.h"
#include "coordinator/manifest.h"
#include "coordinator/pair_identity.h"
#include "coordinator/restore_marker.h"
#include "io/atomic_file.h"
#include "io/sha256.h"
#include "io/zstd_file.h"
#include "pg/server.h"
#include "config/config.h"
#include "tests/support/cli_json.h"
#include "tests/support/restore_skips.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/planted_archive.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kSkip = SkippedByRestore();

std::string ReadText(const std::string& path) {
  Result<std::string> text = ReadWholeFile(path);
  return text.ok() ? *text : "";
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << text;
}

// The Env seam: the Nth rename fails; a hook may act after each rename that succeeded.
class FaultyEnv : public Env {
 public:
  int fail_rename_at = 0;
  std::function<void(int)> after_rename;
  int renames = 0;

  Status Rename(const std::string& from, const std::string& to) override {
    ++renames;
    if (renames == fail_rename_at)
      return Status::Failed("injected failure of rename #" + std::to_string(renames) + " (" +
                            from + " -> " + to + ")");
    Status status = Env::Rename(from, to);
    if (status.ok() && after_rename) after_rename(renames);
    return status;
  }
};

class RestoreTest : public GovernNodeTest {
 protected:
  std::string SetFile(const std::string& id, const std::string& suffix) {
    return repo_ + "/" + id + "/" + id + suffix;
  }
  std::string DatadirHalf(const std::string& id) { return SetFile(id, ".datadir.tar.zst"); }
  std::string DatabaseHalf(const std::string& id) { return SetFile(id, ".database.dump.zst"); }
  std::string ManifestPath(const std::string& id) { return repo_ + "/" + id + "/manifest.toml"; }

  Manifest LoadManifest(const std::string& id) {
    Result<Manifest> manifest = Manifest::Load(ManifestPath(id));
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    return manifest.ok() ? *manifest : Manifest{};
  }
  // Rewrites a manifest with a valid checksum: a tamperer who re-hashed it.
  void SaveManifest(const Manifest& manifest) {
    ASSERT_TRUE(WriteFileAtomically(ManifestPath(manifest.id), manifest.ToText()).ok());
  }
  void RehashHalf(const std::string& id, bool database) {
    Manifest manifest = LoadManifest(id);
    std::string path = database ? DatabaseHalf(id) : DatadirHalf(id);
    Result<std::string> sha = Sha256::OfFile(path);
    ASSERT_TRUE(sha.ok());
    uint64_t bytes = fs::file_size(path);
    if (database) {
      manifest.database->sha256 = *sha;
      manifest.database->bytes = bytes;
    } else {
      manifest.datadir.sha256 = *sha;
      manifest.datadir.bytes = bytes;
    }
    SaveManifest(manifest);
  }

  // What a restore must leave alone when it refuses or rolls back.
  struct Snapshot {
    std::map<std::string, std::string> tree;
    std::map<std::string, std::string> rows;
    std::string events;
  };
  Snapshot Take() {
    return {TreeDigest(node_.data_dir, {"run"}), DatabaseDigest(db_), ReadText(node_.events_log())};
  }
  void ExpectUntouched(const Snapshot& before, bool dss_restarted = false) {
    EXPECT_EQ(TreeDigest(node_.data_dir, {"run"}), before.tree);
    EXPECT_EQ(DatabaseDigest(db_), before.rows);
    if (!dss_restarted) {
      EXPECT_EQ(ReadText(node_.events_log()), before.events);
    }
    EXPECT_TRUE(node_.IsRunning());
    EXPECT_EQ(Leftovers(), std::vector<std::string>{});
  }
  // Staging dirs, aside dirs and extra databases beside the node's.
  std::vector<std::string> Leftovers() {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(node_.root)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("data_dir.", 0) == 0) found.push_back(name);
    }
    pqxx::connection admin(SharedCluster().SuperuserParams().WithDatabase("postgres").ConnectionString());
    pqxx::nontransaction work(admin);
    for (const auto& row : work.exec("SELECT datname FROM pg_database WHERE datname LIKE " +
                                     work.quote(dbname_ + "\\_%")))
      found.push_back(row[0].c_str());
    return found;
  }

  // restore exits 4, reports a problem about `subject` that says `words` (with `hint_words`
  // in its hint), and touches nothing.
  JsonRun RestoreRefused(const std::string& id, const std::string& subject, const std::string& words,
                         const std::string& hint_words = "") {
    Snapshot before = Take();
    JsonRun run = RunJson(config_path_, {"restore", id, "--yes"});
    EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
    EXPECT_EQ(run.doc["command"], "restore");
    EXPECT_EQ(run.doc["ok"], false);
    EXPECT_TRUE(HasProblem(run.doc, subject, words, hint_words));
    EXPECT_NE(run.err.find("refused, nothing was touched"), std::string::npos) << run.err;
    ExpectUntouched(before);
    return run;
  }
  std::string DatadirSubject(const std::string& id) { return "set " + id + " data-dir half"; }
  std::string DatabaseSubject(const std::string& id) { return "set " + id + " database half"; }

  // Runs restore in this process with `env`.
  Status RestoreInProcess(const std::string& id, Env* env) {
    GlobalOptions global;
    global.config_path = config_path_;
    global.env = env;
    RestoreOptions options;
    options.id = id;
    options.yes = true;
    return RunRestore(global, options);
  }
};

// Changes after a backup: files deleted, modified, added; rows deleted, updated; a table.
void ChangeFilesAndRows(const std::string& data, const ConnectionParams& db) {
  ASSERT_TRUE(fs::remove(data + "/config/general-settings.json"));
  WriteText(data + "/config/dip.properties", ReadText(data + "/config/dip.properties") + "# changed\n");
  WriteText(data + "/config/made-after-backup.json", "{}\n");
  fs::create_symlink("made-after-backup.json", data + "/config/link-after-backup");
  pqxx::connection connection(db.ConnectionString());
  pqxx::work work(connection);
  auto tables = work.exec(
      "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
      "WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1");
  ASSERT_GE(tables.size(), 2u);
  std::string first = tables[0][0].c_str(), second = tables[1][0].c_str();
  work.exec("DELETE FROM " + first);
  work.exec("DELETE FROM " + second + " WHERE ctid IN (SELECT ctid FROM " + second + " LIMIT 1)");
  auto text_column = work.exec(
      "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name), quote_ident(column_name) "
      "FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name) "
      "WHERE table_schema NOT IN ('pg_catalog','information_schema') AND t.table_type = 'BASE TABLE' "
      "AND c.data_type IN ('text', 'character varying') ORDER BY 1, 2 LIMIT 1");
  ASSERT_EQ(text_column.size(), 1u);
  std::string column = text_column[0][1].c_str();
  work.exec("UPDATE " + std::string(text_column[0][0].c_str()) + " SET " + column + " = " + column +
            " || '-changed'");
  work.exec("CREATE TABLE made_after_backup (x int)");
  work.exec("INSERT INTO made_after_backup VALUES (1)");
  work.commit();
}

// The set_aside entry of a restore's JSON report for `kind` ("data dir", "database").
nlohmann::json AsideOf(const nlohmann::json& doc, const std::string& kind) {
  for (const auto& item : doc.value("set_aside", nlohmann::json::array()))
    if (item.value("kind", "") == kind) return item;
  ADD_FAILURE() << "nothing of kind " << kind << " set aside in:\n" << doc.dump(2);
  return {{"name", ""}, {"delete", ""}};
}

TEST_F(RestoreTest, RoundTripPutsBothHalvesBackAndKeepsTheReplacedOnesAside) {
  auto tree = TreeDigest(node_.data_dir, kSkip);
  auto rows = DatabaseDigest(db_);
  std::string id = BackupOk();
  ASSERT_FALSE(id.empty());
  const std::string data = node_.data_dir;
  ChangeFilesAndRows(data, db_);
  ASSERT_NE(DatabaseDigest(db_), rows);
  ASSERT_NE(TreeDigest(data, kSkip), tree);

  JsonRun result = RunJson(config_path_, {"restore", id, "--yes"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.doc["ok"], true);
  EXPECT_EQ(result.doc["dss_started"], true);
  EXPECT_EQ(TreeDigest(data, kSkip), tree);
  EXPECT_EQ(DatabaseDigest(db_), rows);
  EXPECT_FALSE(fs::exists(data + "/config/made-after-backup.json"));
  EXPECT_TRUE(node_.IsRunning());

  // The replaced halves are kept aside and named, with how to delete them.
  nlohmann::json aside_dir = AsideOf(result.doc, "data dir");
  nlohmann::json aside_db = AsideOf(result.doc, "database");
  EXPECT_TRUE(fs::exists(aside_dir["name"].get<std::string>() + "/config/made-after-backup.json"));
  EXPECT_EQ(aside_dir["delete"], "rm -rf " + aside_dir["name"].get<std::string>());
  EXPECT_EQ(aside_db["delete"].get<std::string>().rfind("dropdb ", 0), 0u) << result.out;
  bool kept_new_table = false;
  for (const auto& [table, digest] : DatabaseDigest(db_.WithDatabase(aside_db["name"])))
    kept_new_table |= table.find("made_after_backup") != std::string::npos;
  EXPECT_TRUE(kept_new_table) << result.out;

  // The restored node says which set it came from.
  std::string marker = ReadText(data + "/" + kRestoredFromMarker);
  EXPECT_NE(marker.find("id = \"" + id + "\""), std::string::npos) << marker;
  EXPECT_NE(marker.find(LoadManifest(id).pair_token), std::string::npos);
  // No staging left behind.
  EXPECT_FALSE(fs::exists(data + ".restore-" + id));

  // The restored node backs up again, and that set verifies: the marker stays out of it.
  std::string again = BackupOk({"--full"});
  CommandResult verified = Run({"verify", again});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

// The text output of a restore names what it set aside and how to delete it.
TEST_F(RestoreTest, TextOutputNamesWhatWasSetAside) {
  std::string id = BackupOk();
  CommandResult result = Run({"restore", id, "--yes"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  std::smatch aside_dir;
  ASSERT_TRUE(std::regex_search(result.out, aside_dir, std::regex("data dir  (\\S+\\.pre-restore-\\S+)")))
      << result.out;
  EXPECT_NE(result.out.find("rm -rf " + std::string(aside_dir[1])), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("    delete: dropdb "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("ok    space: "), std::string::npos) << result.out;
}

TEST_F(RestoreTest, HalvesSwappedBetweenSetsAreRefused) {
  std::string a = BackupOk();
  std::string b = BackupOk();
  ASSERT_NE(a, b);
  fs::copy_file(DatabaseHalf(b), DatabaseHalf(a), fs::copy_options::overwrite_existing);
  RestoreRefused(a, DatabaseSubject(a), "belongs to another set");
}

TEST_F(RestoreTest, HalvesSwappedWithTheManifestRehashedAreRefused) {
  std::string a = BackupOk();
  std::string b = BackupOk();
  fs::copy_file(DatadirHalf(b), DatadirHalf(a), fs::copy_options::overwrite_existing);
  RehashHalf(a, false);
  // The embedded identity names the other set.
  RestoreRefused(a, DatadirSubject(a), "of set " + b + ": it belongs to another set");
}

TEST_F(RestoreTest, AFlippedByteInEitherHalfIsRefused) {
  std::string id = BackupOk();
  for (bool database : {false, true}) {
    std::string path = database ? DatabaseHalf(id) : DatadirHalf(id);
    std::string bytes = ReadText(path);
    std::string saved = bytes;
    bytes[bytes.size() / 2] ^= 0x01;
    WriteText(path, bytes);
    RestoreRefused(id, database ? DatabaseSubject(id) : DatadirSubject(id), "", "the half is damaged");
    WriteText(path, saved);
  }
}

TEST_F(RestoreTest, AMissingHalfIsRefused) {
  std::string id = BackupOk();
  fs::remove(DatabaseHalf(id));
  RestoreRefused(id, DatabaseSubject(id), "is missing");
}

TEST_F(RestoreTest, ATruncatedHalfIsRefused) {
  std::string id = BackupOk();
  fs::resize_file(DatadirHalf(id), fs::file_size(DatadirHalf(id)) / 2);
  RestoreRefused(id, DatadirSubject(id), "(truncated?)");
}

TEST_F(RestoreTest, ABackupFromANewerDssIsRefusedNamingBothVersions) {
  std::string id = BackupOk();
  // The node (installation and data dir) is now on an older DSS than the set.
  for (const std::string& file :
       {node_.data_dir + "/dss-version.json", node_.install_dir + "/dss-version.json"}) {
    std::string text = ReadText(file);
    text = std::regex_replace(text, std::regex("14\\.4\\.1"), "14.3.0");
    WriteText(file, text);
  }
  RestoreRefused(id, "dss version", "was taken on DSS 14.4.1, newer than the target's DSS 14.3.0");
}

TEST_F(RestoreTest, ADumpFromANewerPostgresqlMajorIsRefused) {
  std::string id = BackupOk();
  Manifest manifest = LoadManifest(id);
  manifest.database->server_version = "99.0";
  SaveManifest(manifest);
  RestoreRefused(id, "database server", "the dump comes from PostgreSQL 99.0");
}

TEST_F(RestoreTest, ArchivesWithEscapingMembersAreRefusedBeforeExtraction) {
  std::string victim = root_ + "/victim";
  fs::create_directories(victim);
  struct Case {
    std::vector<PlantedMember> members;
    std::string named;
  };
  std::vector<Case> cases = {
      {{{"config/../../escaped.txt", AE_IFREG, "x"}}, "escaped.txt"},
      {{{victim + "/absolute.txt", AE_IFREG, "x"}}, "absolute.txt"},
      {{{"config/outside", AE_IFLNK, victim}, {"config/outside/through.txt", AE_IFREG, "x"}},
       "through.txt"},
  };
  for (const Case& c : cases) {
    std::string id = BackupOk();
    PlantArchive(repo_ + "/" + id, c.members);
    RestoreRefused(id, DatadirSubject(id), c.named);
    EXPECT_TRUE(fs::is_empty(victim));
    EXPECT_FALSE(fs::exists(node_.root + "/escaped.txt"));
  }
}

TEST_F(RestoreTest, PgRestoreFailingHalfWayIsRolledBack) {
  // A grant to a role that is gone by restore time: pg_restore fails after the data.
  std::string role = dbname_ + "_reader";
  Sql(SharedCluster().SuperuserParams().WithDatabase(dbname_), "CREATE ROLE " + role);
  pqxx::connection connection(db_.ConnectionString());
  std::string table;
  {
    pqxx::nontransaction work(connection);
    table = work.exec1("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM "
                       "pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') "
                       "ORDER BY 1 LIMIT 1")[0].c_str();
    work.exec("GRANT SELECT ON " + table + " TO " + role);
  }
  std::string id = BackupOk();
  {
    pqxx::nontransaction work(connection);
    work.exec("REVOKE SELECT ON " + table + " FROM " + role);
  }
  connection.disconnect();
  Sql(SharedCluster().SuperuserParams().WithDatabase(dbname_), "DROP ROLE " + role);

  Snapshot before = Take();
  CommandResult result = Run({"restore", id, "--yes"});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("pg_restore"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("nothing live was touched"), std::string::npos) << result.err;
  ExpectUntouched(before);
}

class RestoreRenameFailureTest : public RestoreTest, public ::testing::WithParamInterface<int> {};

TEST_P(RestoreRenameFailureTest, ARenameFailingDuringTheSwitchIsRolledBack) {
  std::string id = BackupOk();
  WriteText(node_.data_dir + "/config/made-after-backup.json", "{}\n");
  Sql(db_, "CREATE TABLE made_after_backup (x int)");
  Snapshot before = Take();

  FaultyEnv env;
  env.fail_rename_at = GetParam();
  Status status = RestoreInProcess(id, &env);
  EXPECT_EQ(status.code(), Code::kFailed) << status.ToString();
  EXPECT_NE(status.message().find("rolled back"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find("injected failure of rename #" + std::to_string(GetParam())),
            std::string::npos)
      << status.ToString();
  ExpectUntouched(before, /*dss_restarted=*/true);
}

INSTANTIATE_TEST_SUITE_P(Steps, RestoreRenameFailureTest, ::testing::Values(1, 2));

TEST_F(RestoreTest, TheDatabaseRenameFailingAfterTheFilesMovedIsRolledBack) {
  std::string id = BackupOk();
  Sql(db_, "CREATE TABLE made_after_backup (x int)");
  Snapshot before = Take();

  // Someone connects to the live database right after the staged data dir moved in: the
  // database cannot be renamed aside, and both file renames must be undone.
  std::unique_ptr<pqxx::connection> intruder;
  FaultyEnv env;
  env.after_rename = [&](int n) {
    if (n == 2) intruder = std::make_unique<pqxx::connection>(db_.ConnectionString());
  };
  Status status = RestoreInProcess(id, &env);
  EXPECT_EQ(status.code(), Code::kFailed) << status.ToString();
  EXPECT_NE(status.message().find("renaming the live database aside"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("rolled back"), std::string::npos) << status.ToString();
  ASSERT_TRUE(intruder);
  intruder.reset();
  ExpectUntouched(before, /*dss_restarted=*/true);
}

TEST_F(RestoreTest, DssFailingToStartOnTheRestoredNodeIsRolledBack) {
  std::string id = BackupOk();
  WriteText(node_.data_dir + "/config/made-after-backup.json", "{}\n");
  Sql(db_, "CREATE TABLE made_after_backup (x int)");
  Snapshot before = Take();

  // DSS will not start once the staged data dir is in place; it may again by the time the
  // rollback has put the old data dir back (rename #4).
  FaultyEnv env;
  env.after_rename = [&](int n) {
    if (n == 2) WriteText(node_.switch_path("fail-start"), "");
    if (n == 4) fs::remove(node_.switch_path("fail-start"));
  };
  Status status = RestoreInProcess(id, &env);
  fs::remove(node_.switch_path("fail-start"));
  EXPECT_EQ(status.code(), Code::kFailed) << status.ToString();
  EXPECT_NE(status.message().find("starting DSS on the restored node"), std::string::npos)
      << status.ToString();
  EXPECT_NE(status.message().find("rolled back"), std::string::npos) << status.ToString();
  EXPECT_EQ(env.renames, 4);
  ExpectUntouched(before, /*dss_restarted=*/true);
}

TEST_F(RestoreTest, DssStoppedBeforeTheRestoreStaysStopped) {
  auto rows = DatabaseDigest(db_);
  std::string id = BackupOk();
  Sql(db_, "CREATE TABLE made_after_backup (x int)");
  Result<ExitInfo> stopped = RunDss("stop");
  ASSERT_TRUE(stopped.ok() && stopped->success());
  ASSERT_FALSE(node_.IsRunning());

  CommandResult result = Run({"restore", id, "--yes"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(DatabaseDigest(db_), rows);
  EXPECT_FALSE(node_.IsRunning());
  EXPECT_NE(result.out.find("stays stopped"), std::string::npos) << result.out;
}

TEST_F(RestoreTest, DssFailingToStopIsRolledBack) {
  std::string id = BackupOk();
  Snapshot before = Take();
  WriteText(node_.switch_path("fail-stop"), "");
  CommandResult result = Run({"restore", id, "--yes"});
  fs::remove(node_.switch_path("fail-stop"));
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("stopping DSS"), std::string::npos) << result.err;
  ExpectUntouched(before);
}

TEST_F(RestoreTest, DryRunTouchesNothingAndShowsThePlan) {
  std::string id = BackupOk();
  Sql(db_, "CREATE TABLE made_after_backup (x int)");
  Snapshot before = Take();
  CommandResult result = Run({"restore", id, "--dry-run"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("dry run"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(node_.data_dir + ".pre-restore-"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(dbname_ + "_pre_restore_"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("stop"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("ok    space: "), std::string::npos) << result.out;
  ExpectUntouched(before);
}

TEST_F(RestoreTest, DryRunJsonReportsEveryPreflightCheckAsPassed) {
  std::string id = BackupOk();
  Snapshot before = Take();
  JsonRun run = RunJson(config_path_, {"restore", id, "--dry-run"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.doc["command"], "restore");
  EXPECT_EQ(run.doc["ok"], true);
  EXPECT_EQ(run.doc["dry_run"], true);
  EXPECT_EQ(run.doc["id"], id);
  EXPECT_EQ(run.doc["pristine"], true);
  EXPECT_TRUE(Problems(run.doc).empty()) << run.out;
  EXPECT_TRUE(HasOk(run.doc, "set " + id, "both halves read through"));
  EXPECT_TRUE(HasOk(run.doc, "data dir", node_.data_dir + " is a DSS data dir"));
  EXPECT_TRUE(HasOk(run.doc, "dss", "running"));
  EXPECT_TRUE(HasOk(run.doc, "dss version", "the target runs DSS 14.4.1"));
  EXPECT_TRUE(HasOk(run.doc, "database server", "PostgreSQL 15."));
  for (const std::string& subject :
       std::vector<std::string>{"set " + id + " manifest", "pg_restore", "database", "database role",
                                "scratch databases", "database sessions", "space"})
    EXPECT_TRUE(HasOk(run.doc, subject)) << subject;
  ExpectUntouched(before);
}

TEST_F(RestoreTest, MissingYesWithoutATerminalTouchesNothing) {
  std::string id = BackupOk();
  Snapshot before = Take();
  CommandResult result = Run({"restore", id});
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.err.find("--yes"), std::string::npos) << result.err;
  ExpectUntouched(before);
}

TEST_F(RestoreTest, RestoreIntoAnotherDataDirAndDatabase) {
  auto tree = TreeDigest(node_.data_dir, kSkip);
  auto rows = DatabaseDigest(db_);
  std::string id = BackupOk();
  Sql(db_, "CREATE TABLE made_after_backup (x int)");
  Snapshot before = Take();

  std::string other_dir = root_ + "/other";
  std::string other_db = dbname_ + "_other";
  CommandResult result = Run({"restore", id, "--yes", "--data-dir", other_dir, "--dbname", other_db});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;

  EXPECT_EQ(TreeDigest(other_dir, kSkip), tree);
  EXPECT_EQ(DatabaseDigest(db_.WithDatabase(other_db)), rows);
  // The live node is left alone, and nothing is set aside.
  EXPECT_EQ(TreeDigest(node_.data_dir, {"run"}), before.tree);
  EXPECT_EQ(DatabaseDigest(db_), before.rows);
  EXPECT_EQ(ReadText(node_.events_log()), before.events);
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_NE(result.out.find("nothing was set aside"), std::string::npos) << result.out;
  // DSS is not started there; the next steps carry the real paths.
  EXPECT_FALSE(fs::exists(other_dir + "/run/supervisord.pid"));
  EXPECT_NE(result.out.find(node_.install_dir + "/installer.sh -d " + other_dir + " -u"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("mv " + other_dir + "/pyenv " + other_dir + "/pyenv.backup"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find(other_dir + "/config/dip.properties"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(other_db), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("install-R-integration"), std::string::npos) << result.out;
  // The new database belongs to the configured user.
  pqxx::connection connection(db_.WithDatabase(other_db).ConnectionString());
  pqxx::nontransaction work(connection);
  EXPECT_EQ(std::string(work.exec1("SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database "
                                   "WHERE datname = current_database()")[0].c_str()),
            db_.user);
}

}  // namespace
}  // namespace testing
}  // namespace gb
