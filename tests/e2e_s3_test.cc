// End-to-end scenarios on an S3 repository (a bucket on a throwaway Ceph RGW) with a real
// PostgreSQL and a generated Govern node: what the local suite checks, through the bucket.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "io/byte_stream.h"
#include "io/files.h"
#include "io/subprocess.h"
#include "io/text.h"
#include "tests/support/cli_json.h"
#include "tests/support/restore_skips.h"
#include "tests/support/s3_node_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

class S3Test : public S3NodeTest {
 protected:
  std::string DatadirKey(const std::string& id) {
    return "sets/" + id + "/" + id + ".datadir.tar.zst";
  }
  std::string IndexKey(const std::string& id) {
    return "sets/" + id + "/" + id + ".index.jsonl.zst";
  }
  std::string DatabaseKey(const std::string& id) {
    return "sets/" + id + "/" + id + ".database.dump.zst";
  }
  std::string GetObject(const std::string& key) {
    StringSink sink;
    Status got = bucket_->Get(key, 0, Store::kToEnd, sink);
    EXPECT_TRUE(got.ok()) << got.ToString();
    return sink.bytes();
  }
  void PutObject(const std::string& key, const std::string& bytes) {
    StringSource source(bytes);
    Result<ObjectInfo> put = bucket_->Put(key, source);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  // What a refused restore must leave alone on the live node.
  struct Snapshot {
    std::map<std::string, std::string> tree;
    std::map<std::string, std::string> rows;
    std::string events;
  };
  Snapshot Take() {
    return {TreeDigest(node_.data_dir, {"run"}), DatabaseDigest(db_), ReadText(node_.events_log())};
  }
  void ExpectUntouched(const Snapshot& before) {
    EXPECT_EQ(TreeDigest(node_.data_dir, {"run"}), before.tree);
    EXPECT_EQ(DatabaseDigest(db_), before.rows);
    EXPECT_EQ(ReadText(node_.events_log()), before.events);
    EXPECT_TRUE(node_.IsRunning());
    for (const auto& entry : fs::directory_iterator(node_.root))
      EXPECT_NE(entry.path().filename().string().rfind("data_dir.", 0), 0u)
          << "staging or aside directory left: " << entry.path();
  }
  static std::string ReadText(const std::string& path) {
    Result<std::string> text = ReadWholeFile(path);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? *text : "";
  }

  // verify exits 3 naming `part` of set `id`, and restore exits 4 with the same problem,
  // leaving the live node as it was.
  void ExpectDamageNamed(const std::string& id, const std::string& part, const std::string& words,
                         const std::string& hint = "") {
    const std::string subject = "set " + id + " " + part;
    JsonRun verify = RunJson(config_path_, {"verify", id});
    EXPECT_EQ(verify.exit_code, 3) << verify.out << verify.err;
    EXPECT_TRUE(HasProblem(verify.doc, subject, words, hint));
    Snapshot before = Take();
    JsonRun restore = RunJson(config_path_, {"restore", id, "--yes"});
    EXPECT_EQ(restore.exit_code, 4) << restore.out << restore.err;
    EXPECT_TRUE(HasProblem(restore.doc, subject, words, hint));
    ExpectUntouched(before);
  }
};

TEST_F(S3Test, RoundTripThroughTheBucket) {
  S3_NODE_TEST_OR_SKIP();
  const auto skip = SkippedByRestore();
  auto tree = TreeDigest(node_.data_dir, skip);
  auto rows = DatabaseDigest(db_);

  JsonRun check = RunJson(config_path_, {"check"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  std::string id = BackupOk();
  EXPECT_EQ(RemoteSetIds(), (std::vector<std::string>{id}));
  EXPECT_FALSE(fs::exists(repo_)) << "no local copy of a half";

  JsonRun list = RunJson(config_path_, {"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  ASSERT_EQ(list.doc["sets"].size(), 1u) << list.out;
  EXPECT_EQ(list.doc["sets"][0]["id"], id);
  EXPECT_EQ(list.doc["sets"][0]["status"], "complete");

  JsonRun show = RunJson(config_path_, {"show", id});
  ASSERT_EQ(show.exit_code, 0) << show.out << show.err;
  EXPECT_EQ(show.doc["id"], id) << show.out;

  JsonRun verify = RunJson(config_path_, {"verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  JsonRun deep = RunJson(config_path_, {"verify", "--deep"});
  EXPECT_EQ(deep.exit_code, 0) << deep.out << deep.err;
  JsonRun audit = RunJson(config_path_, {"audit"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;

  const std::string elsewhere = root_ + "/restored-data";
  const std::string dbname = dbname_ + "_r";
  JsonRun restore = RunJson(config_path_, {"restore", id, "--data-dir", elsewhere, "--dbname",
                                           dbname, "--yes"});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(TreeDigest(elsewhere, skip), tree);
  EXPECT_EQ(DatabaseDigest(db_.WithDatabase(dbname)), rows);
  EXPECT_FALSE(fs::exists(repo_)) << "no local copy of a half, by any command";
}

TEST_F(S3Test, CheckSaysTheBucketIsWritableAndWhichLockProtocol) {
  S3_NODE_TEST_OR_SKIP();
  JsonRun check = RunJson(config_path_, {"check"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(HasOk(check.doc, "repository", "reachable and writable")) << check.out;
  EXPECT_TRUE(HasOk(check.doc, "repository", "s3://" + bucket_name_ + "/" + prefix_)) << check.out;
  EXPECT_TRUE(HasOk(check.doc, "locks", "conditional writes (If-None-Match)")) << check.out;
  EXPECT_EQ(Keys(), std::vector<std::string>{}) << "the probe object is removed";
}

TEST_F(S3Test, DamageInTheBucketIsNamedByVerifyAndRefusedByRestore) {
  S3_NODE_TEST_OR_SKIP();
  const std::string a = BackupOk();
  const std::string b = BackupOk();
  ASSERT_NE(a, b);
  const std::string database_a = GetObject(DatabaseKey(a));
  const std::string datadir_a = GetObject(DatadirKey(a));

  // The database halves of two sets swapped.
  PutObject(DatabaseKey(a), GetObject(DatabaseKey(b)));
  PutObject(DatabaseKey(b), database_a);
  ExpectDamageNamed(a, "database half", "belongs to another set");
  PutObject(DatabaseKey(b), GetObject(DatabaseKey(a)));
  PutObject(DatabaseKey(a), database_a);

  // One byte flipped in the data-dir half.
  std::string flipped = datadir_a;
  flipped[flipped.size() / 2] ^= 0x01;
  PutObject(DatadirKey(a), flipped);
  ExpectDamageNamed(a, "data-dir half", "", "the half is damaged");
  PutObject(DatadirKey(a), datadir_a);

  // A half missing.
  ASSERT_TRUE(bucket_->Delete(DatabaseKey(a)).ok());
  ExpectDamageNamed(a, "database half", "is missing");
  PutObject(DatabaseKey(a), database_a);

  JsonRun repaired = RunJson(config_path_, {"verify", "--all"});
  EXPECT_EQ(repaired.exit_code, 0) << repaired.out << repaired.err;
}

TEST_F(S3Test, PruneRemovesWholePairsPerTheRetentionOfEachRepository) {
  S3_NODE_TEST_OR_SKIP();
  // Only keep_last counts: the other rules keep nothing beyond it.
  WriteS3Config(
      "[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n"
      "keep_within = \"0s\"\n\n[repositories.local.retention]\nkeep_last = 2\n");
  std::vector<std::string> ids;
  // Full sets: what a kept set builds on would be kept too (e2e_s3_chain_test).
  for (int i = 0; i < 3; ++i) ids.push_back(BackupOkInItsOwnSecond({"--full"}));
  CommandResult copied = Run({"copy", "--to", "local"});
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  ASSERT_EQ(SetIds(), ids);

  CommandResult local = Run({"--repo", "local", "prune"});
  ASSERT_EQ(local.exit_code, 0) << local.out << local.err;
  EXPECT_EQ(SetIds(), (std::vector<std::string>{ids[1], ids[2]}));
  EXPECT_EQ(RemoteSetIds(), ids) << "pruning local leaves the bucket alone";

  JsonRun pruned = RunJson(config_path_, {"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_EQ(pruned.doc["completed"], true);
  std::map<std::string, std::string> actions;
  for (const auto& set : pruned.doc["sets"]) actions[set["id"]] = set["action"];
  EXPECT_EQ(actions, (std::map<std::string, std::string>{
                         {ids[0], "remove"}, {ids[1], "remove"}, {ids[2], "keep"}}));
  // Nothing of a removed set is left; the kept one is whole; no lock object stays.
  EXPECT_EQ(Keys(), (std::vector<std::string>{"manifests/" + ids[2] + ".toml",
                                              DatabaseKey(ids[2]), DatadirKey(ids[2]),
                                              IndexKey(ids[2])}));
  EXPECT_EQ(SetIds(), (std::vector<std::string>{ids[1], ids[2]}));
}

TEST_F(S3Test, AWrongSecretIsRefusedWithoutShowingEitherSecret) {
  S3_NODE_TEST_OR_SKIP();
  Result<std::string> right = ReadWholeFile(secret_key_file_);
  ASSERT_TRUE(right.ok());
  std::string right_secret = *right;
  while (!right_secret.empty() && right_secret.back() == '\n') right_secret.pop_back();
  ASSERT_GE(right_secret.size(), 8u);
  const std::string wrong_secret = "Wr0ngSecret" + RandomHex(12);
  ASSERT_TRUE(WriteFile(secret_key_file_, wrong_secret + "\n", 0600).ok());
  Snapshot before = Take();

  auto expect_no_secret = [&](const std::string& text) {
    EXPECT_EQ(text.find(wrong_secret), std::string::npos) << text;
    EXPECT_EQ(text.find(right_secret), std::string::npos) << text;
  };
  JsonRun check = RunJson(config_path_, {"check"});
  EXPECT_NE(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(HasProblem(check.doc, "repository", "s3://" + bucket_name_ + "/" + prefix_))
      << check.out;
  EXPECT_TRUE(HasProblem(check.doc, "repository", "403", "secret key is wrong")) << check.out;
  expect_no_secret(check.out + check.err);

  CommandResult backup = Run({"backup"});
  EXPECT_NE(backup.exit_code, 0) << backup.out << backup.err;
  EXPECT_NE(backup.err.find(bucket_name_), std::string::npos) << backup.err;
  EXPECT_NE(backup.err.find("secret key is wrong"), std::string::npos) << backup.err;
  expect_no_secret(backup.out + backup.err);
  ExpectUntouched(before);
  EXPECT_EQ(Keys(), std::vector<std::string>{});
}

TEST_F(S3Test, ListCountsMoreSetsThanOneListingPage) {
  S3_NODE_TEST_OR_SKIP();
  const std::string real = BackupOk();
  const std::string manifest = GetObject("manifests/" + real + ".toml");
  // Planted ids sort before the real one (2020); each planted manifest still names `real`.
  constexpr int kPlanted = 1005;
  std::vector<std::string> planted;
  for (int i = 0; i < kPlanted; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "20200101T%06dZ-%06x", i % 240000, i);
    planted.push_back(id);
  }
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 16; ++t)
    writers.emplace_back([&] {
      for (size_t i = next++; i < planted.size(); i = next++) {
        StringSource source(manifest);
        if (!bucket_->Put("manifests/" + planted[i] + ".toml", source).ok()) ++failures;
      }
    });
  for (auto& writer : writers) writer.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_EQ(RemoteSetIds().size(), static_cast<size_t>(kPlanted + 1));

  JsonRun list = RunJson(config_path_, {"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  ASSERT_EQ(list.doc["sets"].size(), static_cast<size_t>(kPlanted + 1));
  std::map<std::string, std::string> status;
  for (const auto& set : list.doc["sets"]) status[set["id"]] = set["status"];
  EXPECT_EQ(status[real], "complete");
  // A manifest under another set's key is listed under its key, and not as complete (the
  // halves it names are not under that set's prefix); verify names the mismatch.
  for (const std::string& id : planted) {
    ASSERT_EQ(status.count(id), 1u) << id;
    EXPECT_NE(status[id], "complete") << id;
  }
  EXPECT_EQ(status[planted.front()], "data-dir half missing");
  JsonRun verify = RunJson(config_path_, {"verify", planted.front()});
  EXPECT_EQ(verify.exit_code, 3) << verify.out << verify.err;
  EXPECT_TRUE(HasProblem(verify.doc, "set " + planted.front() + " manifest", "describes set " + real));
}

TEST_F(S3Test, RestoreFromTheBucketAfterTheLocalRepositoryIsGone) {
  S3_NODE_TEST_OR_SKIP();
  const auto skip = SkippedByRestore();
  auto tree = TreeDigest(node_.data_dir, skip);
  auto rows = DatabaseDigest(db_);
  CommandResult backup = Run({"--repo", "local", "backup"});
  ASSERT_EQ(backup.exit_code, 0) << backup.out << backup.err;
  const std::string id = backup.out.substr(0, backup.out.find_first_of(" \n"));
  ASSERT_EQ(SetIds(), std::vector<std::string>{id});
  CommandResult copied = Run({"--repo", "local", "copy", "--to", "main"});
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  EXPECT_EQ(RemoteSetIds(), std::vector<std::string>{id});
  fs::remove_all(repo_);

  // Changes after the backup, which the restore must undo.
  ASSERT_TRUE(WriteFile(node_.data_dir + "/config/made-after-backup.json", "{}\n", 0644).ok());
  Sql(db_, "CREATE TABLE made_after_backup (x int)");
  ASSERT_NE(TreeDigest(node_.data_dir, skip), tree);

  JsonRun restore = RunJson(config_path_, {"restore", id, "--yes"});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(TreeDigest(node_.data_dir, skip), tree);
  EXPECT_EQ(DatabaseDigest(db_), rows);
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_FALSE(fs::exists(repo_));
}

// The README's "Restore from a bucket by hand", its commands as written (placeholders filled
// in), with Debian's awscli against the RGW, into another data dir and database: the bucket
// alone is enough to get a node back without govern-backup. The live node's `dss stop`/`mv`/
// `dss start` lines are left out: the restore goes elsewhere, so they have nothing to do.
TEST_F(S3Test, TheReadmeByHandRestoreFromABucketGivesTheSameContent) {
  S3_NODE_TEST_OR_SKIP();
  if (std::system("aws --version >/dev/null 2>&1") != 0) {
    if (std::getenv("CI") != nullptr) FAIL() << "aws (awscli) is missing: scripts/install-deps";
    GTEST_SKIP() << "no aws (awscli) here";
  }
  const auto skip = SkippedByRestore();
  auto tree = TreeDigest(node_.data_dir, skip);
  auto rows = DatabaseDigest(db_);
  const std::string id = BackupOk();

  const std::string data_dir = root_ + "/by-hand-data";
  const std::string dbname = dbname_ + "_by_hand";
  const std::string set = "s3://" + bucket_name_ + "/" + prefix_ + "sets/" + id + "/" + id;
  // createdb needs a role that may create databases (the superuser here); pg_restore runs as
  // the Govern role, with the README's --role=govern (which a superuser's run needs).
  const ConnectionParams super = SharedCluster().SuperuserParams();
  std::string as_superuser = "env";
  for (const auto& [name, value] : super.ChildEnvironment())
    as_superuser += " " + name + "=" + ShellQuote(value);
  const std::string script =
      "set -euo pipefail\n"
      "export AWS_ACCESS_KEY_ID=$(cat " + ShellQuote(access_key_file_) + ")\n"
      "export AWS_SECRET_ACCESS_KEY=$(cat " + ShellQuote(secret_key_file_) + ")\n"
      "s3=\"aws --endpoint-url " + endpoint_ + " s3\"\n"
      "$s3 ls s3://" + bucket_name_ + "/" + prefix_ + "manifests/\n"
      "set=" + set + "\n"
      "mkdir " + data_dir + "\n"
      "$s3 cp $set.datadir.tar.zst - | zstd -dc |\n"
      "  tar --xattrs --xattrs-include='*' --acls -xpf - -C " + data_dir +
      " --exclude=.govern-backup\n" +
      as_superuser + " createdb -O " + db_.user + " " + dbname + "\n"
      "$s3 cp $set.database.dump.zst - | zstd -dc | pg_restore --no-owner --role=" + db_.user +
      " -d " + dbname + "\n";
  SubprocessOptions options;
  options.argv = {"/bin/bash", "-c", script};
  options.extra_env = db_.ChildEnvironment();
  // No ~/.aws of whoever runs the tests: the keys come from the environment only.
  options.extra_env["AWS_CONFIG_FILE"] = root_ + "/no-aws-config";
  options.extra_env["AWS_SHARED_CREDENTIALS_FILE"] = root_ + "/no-aws-credentials";
  options.timeout = std::chrono::minutes(2);
  Result<ExitInfo> ran = RunSubprocess(options);
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  ASSERT_TRUE(ran->success()) << ran->Describe() << "\n" << script << "\n" << ran->stdout_text
                              << ran->stderr_text;
  EXPECT_NE(ran->stdout_text.find(id + ".toml"), std::string::npos) << ran->stdout_text;
  EXPECT_EQ(TreeDigest(data_dir, skip), tree);
  // Read as Govern reads it: every table readable by the Govern role.
  EXPECT_EQ(DatabaseDigest(db_.WithDatabase(dbname)), rows);
}

}  // namespace
}  // namespace testing
}  // namespace gb
