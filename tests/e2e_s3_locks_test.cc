// End-to-end locking of an S3 repository (a bucket on the throwaway Ceph RGW) by the real
// binary: two hosts on one bucket+prefix, a stale lock another host left, and a versioned
// bucket where locks follow the list-based protocol.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "coordinator/exit_codes.h"
#include "coordinator/repository_lock.h"
#include "io/byte_stream.h"
#include "io/env.h"
#include "io/text.h"
#include "tests/support/ceph_cluster.h"
#include "tests/support/cli_json.h"
#include "tests/support/restore_skips.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/s3_node_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;
using std::chrono::seconds;

std::string ThisHost() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

class S3LocksTest : public S3NodeTest {
 protected:
  // A refused command prints no JSON: its exit code and stderr are what the admin gets.
  static CommandResult RunWithConfig(const std::string& config,
                                     const std::vector<std::string>& args) {
    SubprocessOptions options;
    options.argv = {GOVERN_BACKUP_BINARY, "--config", config};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.timeout = std::chrono::minutes(5);
    Result<ExitInfo> exit = RunSubprocess(options);
    EXPECT_TRUE(exit.ok()) << exit.status().ToString();
    if (!exit.ok()) return {};
    return {exit->term_signal ? 128 + exit->term_signal : exit->exit_code, exit->stdout_text,
            exit->stderr_text};
  }
  // A lock object as a backup on another host leaves it, last refreshed `age` ago.
  void PlantLock(minutes age, const std::string& host, pid_t pid = 4242) {
    LockHolder holder;
    holder.operation = LockOperation::kBackup;
    holder.pid = pid;
    holder.host = host;
    holder.since = std::chrono::system_clock::now() - age - minutes(10);
    holder.refreshed = std::chrono::system_clock::now() - age;
    StringSource text(holder.ToText());
    ASSERT_TRUE(bucket_->Put("locks/exclusive", text).ok());
  }
};

// Config A's backup holds the lock while its manifest PUT is answered 503 SlowDown (it keeps
// retrying): the slow backup of host A. Host B, on the same bucket+prefix, is refused.
TEST_F(S3LocksTest, ASecondHostIsRefusedWhileTheFirstBacksUp) {
  S3_NODE_TEST_OR_SKIP();
  const std::string config_b = root_ + "/config-b.toml";
  fs::copy_file(config_path_, config_b);

  std::atomic<bool> hold{true};
  std::atomic<bool> held{false};
  Result<std::unique_ptr<FaultProxy>> proxy =
      FaultProxy::Start(endpoint_, [&](int, const std::string& line) {
        if (!hold || line.rfind("PUT ", 0) != 0 || line.find("/manifests/") == std::string::npos)
          return Fault::kNone;
        held = true;
        return Fault::kSlowDown;
      });
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  main_endpoint_ = (*proxy)->endpoint();
  WriteS3Config();
  std::unique_ptr<Subprocess> backup_a = Start({"backup"});
  ASSERT_NE(backup_a, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return held.load(); }, seconds(120)));

  CommandResult refused = RunWithConfig(config_b, {"backup"});
  EXPECT_EQ(refused.exit_code, kExitLocked) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("pid " + std::to_string(backup_a->pid())), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find(ThisHost()), std::string::npos) << refused.err;

  hold = false;
  ExitInfo exit_a = backup_a->Wait();
  EXPECT_EQ(exit_a.exit_code, 0) << exit_a.stderr_text;
  JsonRun backup_b = RunJson(config_b, {"backup"});
  EXPECT_EQ(backup_b.exit_code, 0) << backup_b.out << backup_b.err;
  EXPECT_EQ(RemoteSetIds().size(), 2u);
  EXPECT_TRUE(Keys("locks/").empty());
}

TEST_F(S3LocksTest, AStaleLockIsRemovedByUnlockStale) {
  S3_NODE_TEST_OR_SKIP();
  PlantLock(minutes(31), "gone-host.example");
  CommandResult refused = Run({"backup"});
  EXPECT_EQ(refused.exit_code, kExitLocked) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("gone-host.example"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("unlock --stale"), std::string::npos) << refused.err;
  EXPECT_TRUE(node_.IsRunning());

  JsonRun unlock = RunJson(config_path_, {"unlock", "--stale"});
  ASSERT_EQ(unlock.exit_code, 0) << unlock.out << unlock.err;
  ASSERT_EQ(unlock.doc["removed"].size(), 1u) << unlock.out;
  EXPECT_EQ(unlock.doc["removed"][0]["key"], "locks/exclusive") << unlock.out;
  EXPECT_TRUE(unlock.doc["held"].empty()) << unlock.out;
  EXPECT_TRUE(Keys("locks/").empty());
  std::string id = BackupOk();
  EXPECT_EQ(RemoteSetIds(), std::vector<std::string>{id});
}

TEST_F(S3LocksTest, AFreshLockIsKeptByUnlockStaleAndRemovedByForce) {
  S3_NODE_TEST_OR_SKIP();
  PlantLock(minutes(1), "busy-host.example");
  JsonRun stale = RunJson(config_path_, {"unlock", "--stale"});
  ASSERT_EQ(stale.exit_code, 0) << stale.out << stale.err;
  EXPECT_TRUE(stale.doc["removed"].empty()) << stale.out;
  ASSERT_EQ(stale.doc["held"].size(), 1u) << stale.out;
  EXPECT_EQ(Keys("locks/"), std::vector<std::string>{"locks/exclusive"});
  CommandResult refused = Run({"backup"});
  EXPECT_EQ(refused.exit_code, kExitLocked) << refused.out << refused.err;

  JsonRun force = RunJson(config_path_, {"unlock", "--force"});
  ASSERT_EQ(force.exit_code, 0) << force.out << force.err;
  EXPECT_EQ(force.doc["removed"].size(), 1u) << force.out;
  EXPECT_TRUE(Keys("locks/").empty());
}

// A fresh lock of a process of this host that no longer runs (killed with SIGKILL, say): the
// refusal says so and that `unlock --force` may remove it now, not in 30 minutes.
TEST_F(S3LocksTest, ALockOfADeadProcessOfThisHostSaysUnlockForce) {
  S3_NODE_TEST_OR_SKIP();
  std::unique_ptr<Subprocess> gone = Start({"--version"});
  ASSERT_NE(gone, nullptr);
  const pid_t dead = gone->pid();
  gone->Wait();
  PlantLock(minutes(1), Env::Default()->HostName(), dead);
  CommandResult refused = Run({"backup"});
  EXPECT_EQ(refused.exit_code, kExitLocked) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("no longer runs on this host"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("unlock --force"), std::string::npos) << refused.err;

  PlantLock(minutes(1), "busy-host.example", dead);  // another host: its pids are not ours
  CommandResult elsewhere = Run({"backup"});
  EXPECT_EQ(elsewhere.exit_code, kExitLocked) << elsewhere.err;
  EXPECT_EQ(elsewhere.err.find("no longer runs on this host"), std::string::npos) << elsewhere.err;
}

class S3VersionedTest : public S3LocksTest {
 protected:
  // Moves the main repository to a fresh bucket with versioning on before anything is written.
  void UseVersionedBucket() {
    std::string skip_reason;
    const RgwEndpoint* rgw = SharedRgw(&skip_reason);
    ASSERT_NE(rgw, nullptr) << skip_reason;
    S3Config config;
    config.endpoint = rgw->endpoint;
    config.bucket = "e2e-versioned-" + RandomHex(4);
    config.prefix = prefix_;
    Result<std::unique_ptr<S3Store>> store =
        S3Store::Open(config, S3Credentials{rgw->access_key, rgw->secret_key, ""});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->CreateBucket().ok());
    ASSERT_TRUE((*store)->EnableVersioning().ok());
    bucket_name_ = config.bucket;
    bucket_ = std::move(store).value();
    WriteS3Config();
  }
};

TEST_F(S3VersionedTest, ListBasedLocksLetExactlyOneOfTwoBackupsRun) {
  S3_NODE_TEST_OR_SKIP();
  UseVersionedBucket();
  JsonRun check = RunJson(config_path_, {"check"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(HasOk(check.doc, "locks", "list-based")) << check.out;

  std::unique_ptr<Subprocess> first = Start({"backup"});
  std::unique_ptr<Subprocess> second = Start({"backup"});
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  std::vector<int> exits = {first->Wait().exit_code, second->Wait().exit_code};
  std::sort(exits.begin(), exits.end());
  EXPECT_EQ(exits, (std::vector<int>{0, kExitLocked}));
  ASSERT_EQ(RemoteSetIds().size(), 1u);
  EXPECT_TRUE(Keys("locks/").empty());
  const std::string id = RemoteSetIds()[0];

  const std::vector<std::string> skip = SkippedByRestore();
  auto tree = TreeDigest(node_.data_dir, skip);
  auto rows = DatabaseDigest(db_);
  const std::string elsewhere = root_ + "/restored-data";
  const std::string dbname = dbname_ + "_r";
  JsonRun restore = RunJson(config_path_, {"restore", id, "--data-dir", elsewhere, "--dbname",
                                           dbname, "--yes"});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(TreeDigest(elsewhere, skip), tree);
  EXPECT_EQ(DatabaseDigest(db_.WithDatabase(dbname)), rows);
}

}  // namespace
}  // namespace testing
}  // namespace gb
