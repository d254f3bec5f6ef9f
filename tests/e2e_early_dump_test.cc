// The database half of an offline set taken while DSS runs: pg_dump starts beside the first
// pass, on a snapshot of the running database, and that dump is kept only if the database
// did not move before DSS stopped. A Govern server that writes on its way down (a row, or a
// sequence moved outside any transaction) makes the tool dump again once DSS is down: the
// set holds what the stopped node held, and nothing of the dump given up is left in the
// repository, local or a bucket. A backup that fails at the stop leaves nothing either; with
// [backup] dump_while_running = false the database is dumped only once DSS is down.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "io/files.h"
#include "sandbox/counter_writer.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/s3_node_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

constexpr char kKept[] = "the database did not change before DSS stopped: keeping the dump";
constexpr char kDumpedAgain[] = "the database changed before DSS stopped";

std::string Scalar(const ConnectionParams& params, const std::string& sql) {
  pqxx::connection connection(params.ConnectionString());
  pqxx::nontransaction tx(connection);
  return tx.exec1(sql)[0].as<std::string>();
}

// Every file under `dir` (relative), sorted.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code error;
  for (fs::recursive_directory_iterator it(dir, error), end; it != end; it.increment(error)) {
    if (!it->is_directory()) files.push_back(it->path().lexically_relative(dir).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class EarlyDumpTest : public GovernNodeTest {
 protected:
  void WriteAtStop(const std::string& sql) {
    Status set = SetSqlAtStop(node_, db_, sql, SharedCluster().bin_dir() + "/psql");
    ASSERT_TRUE(set.ok()) << set.ToString();
  }

  // Restores set `id` into a data dir and a database of their own; the database.
  ConnectionParams RestoreElsewhere(const std::string& id) {
    const std::string dbname = dbname_ + "_restored";
    CommandResult restored = Run({"restore", id, "--data-dir", root_ + "/restored", "--dbname",
                                  dbname, "--yes"});
    EXPECT_EQ(restored.exit_code, 0) << restored.out << restored.err;
    return db_.WithDatabase(dbname);
  }
};

TEST_F(EarlyDumpTest, TheDumpStartedWhileDssRanIsKeptWhenTheDatabaseStaysStill) {
  ASSERT_TRUE(node_.IsRunning());
  const std::string id = BackupOk();
  EXPECT_NE(last_backup_log_.find(kKept), std::string::npos) << last_backup_log_;
  EXPECT_LT(last_backup_log_.find("database snapshot"), last_backup_log_.find("DSS stopped"))
      << last_backup_log_;
  EXPECT_EQ(last_backup_log_.find(kDumpedAgain), std::string::npos) << last_backup_log_;
  EXPECT_EQ(DatabaseDigest(RestoreElsewhere(id)), DatabaseDigest(db_));
}

TEST_F(EarlyDumpTest, WithDumpWhileRunningOffTheDatabaseIsDumpedOnceDssIsDown) {
  WriteConfig("[backup]\ndump_while_running = false\n");
  const std::string id = BackupOk();
  const size_t stopped = last_backup_log_.find("DSS stopped");
  const size_t exported = last_backup_log_.find("database snapshot");
  ASSERT_NE(stopped, std::string::npos) << last_backup_log_;
  ASSERT_NE(exported, std::string::npos) << last_backup_log_;
  EXPECT_LT(stopped, exported) << last_backup_log_;
  EXPECT_EQ(last_backup_log_.find(kKept), std::string::npos) << last_backup_log_;
  EXPECT_EQ(DatabaseDigest(RestoreElsewhere(id)), DatabaseDigest(db_));
}

TEST_F(EarlyDumpTest, ARowWrittenAsDssStopsIsInTheSet) {
  Sql(db_, "CREATE TABLE stop_marks (n int)");
  WriteAtStop("INSERT INTO stop_marks VALUES (1)");
  const std::string id = BackupOk();
  EXPECT_NE(last_backup_log_.find(std::string(kDumpedAgain) +
                                  " (1 transaction committed since): dumping it again"),
            std::string::npos)
      << last_backup_log_;
  fs::remove(node_.switch_path("stop-sql"));
  const ConnectionParams restored = RestoreElsewhere(id);
  EXPECT_EQ(Scalar(restored, "SELECT count(*) FROM stop_marks"), "1");
  EXPECT_EQ(DatabaseDigest(restored), DatabaseDigest(db_));
  // The half given up left nothing: the set's own files and the repository's, no more.
  for (const std::string& file : FilesUnder(repo_)) {
    EXPECT_EQ(file.find(".tmp-"), std::string::npos) << file;
  }
}

TEST_F(EarlyDumpTest, ASequenceMovedAsDssStopsIsInTheSet) {
  // Unlogged: its nextval never takes a transaction id, so only its value tells.
  Sql(db_, "CREATE UNLOGGED SEQUENCE tickets; SELECT nextval('tickets')");
  WriteAtStop("SELECT nextval('tickets')");
  const std::string id = BackupOk();
  EXPECT_NE(last_backup_log_.find(std::string(kDumpedAgain) +
                                  " (sequence public.tickets moved from 1 to 2)"),
            std::string::npos)
      << last_backup_log_;
  fs::remove(node_.switch_path("stop-sql"));
  EXPECT_EQ(Scalar(RestoreElsewhere(id), "SELECT last_value FROM tickets"), "2");
}

TEST_F(EarlyDumpTest, AStopThatFailsLeavesNoHalfOfTheDumpBehind) {
  BackupOkInItsOwnSecond();
  const std::vector<std::string> before = FilesUnder(repo_);
  ASSERT_TRUE(WriteFile(node_.switch_path("fail-stop"), "", 0644).ok());
  CommandResult failed = Run({"backup"});
  fs::remove(node_.switch_path("fail-stop"));
  EXPECT_NE(failed.exit_code, 0) << failed.err;
  EXPECT_NE(failed.err.find("stopping DSS"), std::string::npos) << failed.err;
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_EQ(FilesUnder(repo_), before) << "the dump started while DSS ran is given up";
}

class S3EarlyDumpTest : public S3NodeTest {};

TEST_F(S3EarlyDumpTest, ADumpGivenUpLeavesNoUploadInTheBucket) {
  S3_NODE_TEST_OR_SKIP();
  Sql(db_, "CREATE TABLE stop_marks (n int)");
  Status set = SetSqlAtStop(node_, db_, "INSERT INTO stop_marks VALUES (1)",
                            SharedCluster().bin_dir() + "/psql");
  ASSERT_TRUE(set.ok()) << set.ToString();
  const std::string id = BackupOk();
  EXPECT_NE(last_backup_log_.find(kDumpedAgain), std::string::npos) << last_backup_log_;
  fs::remove(node_.switch_path("stop-sql"));
  Result<std::vector<PendingWrite>> pending = bucket_->ListPendingWrites("");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_TRUE(pending->empty()) << "the given-up dump's multipart upload is aborted";
  CommandResult verified = Run({"verify", "--deep", id});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  const std::string dbname = dbname_ + "_restored";
  CommandResult restored = Run({"restore", id, "--data-dir", root_ + "/restored", "--dbname",
                                dbname, "--yes"});
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
  EXPECT_EQ(Scalar(db_.WithDatabase(dbname), "SELECT count(*) FROM stop_marks"), "1");
}

}  // namespace
}  // namespace testing
}  // namespace gb
