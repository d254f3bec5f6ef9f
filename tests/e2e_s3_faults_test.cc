// End-to-end failures on an S3 repository (a bucket on the throwaway Ceph RGW): a backup killed
// mid-upload or at its commit, faults of the network between the tool and the bucket, and a
// copy whose target is unreachable. What must hold: never a complete-looking set that is not,
// leftovers that audit names and prune removes, DSS running again unless the kill stopped it.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/exit_codes.h"
#include "coordinator/repository_lock.h"
#include "io/byte_stream.h"
#include "io/files.h"
#include "io/text.h"
#include "tests/support/cli_json.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/s3_node_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

using std::chrono::seconds;

bool IsManifestPut(const std::string& line) {
  return line.rfind("PUT ", 0) == 0 && line.find("/manifests/") != std::string::npos;
}
bool IsPartUpload(const std::string& line, int part) {
  return line.rfind("PUT ", 0) == 0 &&
         line.find("partNumber=" + std::to_string(part) + "&") != std::string::npos;
}

class S3FaultsTest : public S3NodeTest {
 protected:
  // Puts the main repository behind a FaultProxy running `plan`.
  void ThroughProxy(FaultProxy::Plan plan, const std::string& extra_toml = "") {
    Result<std::unique_ptr<FaultProxy>> started = FaultProxy::Start(endpoint_, std::move(plan));
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    proxy_ = std::move(started).value();
    main_endpoint_ = proxy_->endpoint();
    WriteS3Config(extra_toml);
  }
  // A data-dir half of several 5 MiB parts: incompressible bytes.
  void MakeDataDirLarge() {
    const std::string file = node_.data_dir + "/managed_folders/large.bin";
    ASSERT_TRUE(WriteFile(file, RandomBytes(16 << 20), 0644).ok());
    ASSERT_EQ(::chown(file.c_str(), node_.owner_uid, node_.owner_gid), 0);
  }
  static std::string RandomBytes(size_t size) {
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    std::string bytes(size, '\0');
    urandom.read(bytes.data(), static_cast<std::streamsize>(size));
    return bytes;
  }
  std::vector<ObjectInfo> Objects(const std::string& prefix) {
    Result<std::vector<ObjectInfo>> listed = bucket_->List(prefix);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    return listed.ok() ? *listed : std::vector<ObjectInfo>{};
  }
  std::vector<PendingWrite> Pending() {
    Result<std::vector<PendingWrite>> pending = bucket_->ListPendingWrites("");
    EXPECT_TRUE(pending.ok()) << pending.status().ToString();
    return pending.ok() ? *pending : std::vector<PendingWrite>{};
  }
  // What 31 minutes without the killed holder's refresher would leave: its lock stale.
  void AgeLocks(std::chrono::minutes age) {
    for (const std::string& key : Keys("locks/")) {
      StringSink text;
      ASSERT_TRUE(bucket_->Get(key, 0, Store::kToEnd, text).ok()) << key;
      Result<LockHolder> holder = LockHolder::Parse(text.bytes());
      ASSERT_TRUE(holder.ok()) << key << ": " << text.bytes();
      holder->refreshed = std::chrono::system_clock::now() - age;
      StringSource rewritten(holder->ToText());
      ASSERT_TRUE(bucket_->Put(key, rewritten).ok()) << key;
    }
  }
  // An audit of a repository left clean but empty: its one problem is that it holds no set.
  void ExpectAuditSeesNothingButNoSet() {
    JsonRun audit = RunJson(config_path_, {"audit"});
    EXPECT_EQ(audit.exit_code, kExitProblems) << audit.out << audit.err;
    EXPECT_EQ(Problems(audit.doc).size(), 1u) << audit.out;
    EXPECT_TRUE(HasProblem(audit.doc, "repository", "no complete backup set")) << audit.out;
  }
  // After a killed backup: list shows nothing, audit (once the lock is stale) reports the
  // leftovers, `unlock --stale` and prune leave no trace in the bucket.
  void ExpectLeftoversReportedAndPruned(bool dss_left_stopped, bool upload_left) {
    JsonRun list = RunJson(config_path_, {"list"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_TRUE(list.doc["sets"].empty()) << list.out;
    EXPECT_TRUE(RemoteSetIds().empty());
    const bool objects_left = !Keys("sets/").empty();

    AgeLocks(std::chrono::minutes(31));
    JsonRun audit = RunJson(config_path_, {"audit"});
    EXPECT_EQ(audit.exit_code, kExitProblems) << audit.out << audit.err;
    EXPECT_TRUE(HasProblem(audit.doc, "lock", "stale lock", "unlock --stale")) << audit.out;
    if (objects_left) {
      EXPECT_TRUE(HasProblem(audit.doc, "", "has no manifest", "prune")) << audit.out;
    }
    if (upload_left) {
      EXPECT_TRUE(HasProblem(audit.doc, "", "unfinished upload", "prune")) << audit.out;
    }
    if (dss_left_stopped) {
      EXPECT_TRUE(HasProblem(audit.doc, "node", "DSS is stopped", "start")) << audit.out;
      ASSERT_TRUE(RunDss("start").ok());
    } else {
      EXPECT_TRUE(node_.IsRunning());
    }

    JsonRun unlock = RunJson(config_path_, {"unlock", "--stale"});
    ASSERT_EQ(unlock.exit_code, 0) << unlock.out << unlock.err;
    EXPECT_EQ(unlock.doc["removed"].size(), 1u) << unlock.out;
    JsonRun prune = RunJson(config_path_, {"prune"});
    ASSERT_EQ(prune.exit_code, 0) << prune.out << prune.err;
    EXPECT_TRUE(Keys("sets/").empty());
    EXPECT_TRUE(Keys("locks/").empty());
    EXPECT_TRUE(Pending().empty());
    ExpectAuditSeesNothingButNoSet();
  }

  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(S3FaultsTest, KilledDuringAPartUploadLeavesAnUploadThatPruneAborts) {
  S3_NODE_TEST_OR_SKIP();
  MakeDataDirLarge();
  std::atomic<bool> stalled{false};
  ThroughProxy([&](int, const std::string& line) {
    if (!IsPartUpload(line, 2)) return Fault::kNone;
    stalled = true;
    return Fault::kStall;
  });
  std::unique_ptr<Subprocess> backup = Start({"backup"});
  ASSERT_NE(backup, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return stalled.load(); }, seconds(120)));
  EXPECT_FALSE(Pending().empty()) << "the data-dir half is a multipart upload under way";
  backup->Signal(SIGKILL);
  backup->Wait();
  // The half's last part is stored after DSS started again: DSS waits for the data dir to be
  // read, not for the upload.
  EXPECT_TRUE(node_.IsRunning()) << "DSS is back once the data dir is captured";
  ExpectLeftoversReportedAndPruned(/*dss_left_stopped=*/false, /*upload_left=*/true);
}

// Both halves are stored; the manifest PUT never arrives: the state between the halves and
// the commit.
TEST_F(S3FaultsTest, KilledDuringTheManifestPutLeavesHalvesThatPruneRemoves) {
  S3_NODE_TEST_OR_SKIP();
  std::atomic<bool> stalled{false};
  ThroughProxy([&](int, const std::string& line) {
    if (!IsManifestPut(line)) return Fault::kNone;
    stalled = true;
    return Fault::kStall;
  });
  std::unique_ptr<Subprocess> backup = Start({"backup"});
  ASSERT_NE(backup, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return stalled.load(); }, seconds(120)));
  std::vector<std::string> halves = Keys("sets/");
  EXPECT_EQ(halves.size(), 3u) << "both halves and the index before the manifest";
  EXPECT_TRUE(Pending().empty());
  backup->Signal(SIGKILL);
  backup->Wait();
  EXPECT_TRUE(node_.IsRunning()) << "DSS was started again before the commit";
  ExpectLeftoversReportedAndPruned(/*dss_left_stopped=*/false, /*upload_left=*/false);
}

// Each fault once, on a request that matters: a part, the upload's completion, the commit,
// and a download of the data-dir half by verify, cut short. (A stall is left out: its
// timeout, S3Config::stall_timeout, is 60 s and not configurable.)
TEST_F(S3FaultsTest, TransientFaultsAreRetriedAndTheSetVerifies) {
  S3_NODE_TEST_OR_SKIP();
  MakeDataDirLarge();
  std::atomic<int> faults{0};
  std::atomic<bool> part1{false}, part2{false}, complete{false}, manifest_slow{false},
      manifest_reset{false}, download{false};
  auto once = [&](std::atomic<bool>& done, Fault fault) {
    if (done.exchange(true)) return Fault::kNone;
    ++faults;
    return fault;
  };
  ThroughProxy([&](int, const std::string& line) {
    if (IsPartUpload(line, 1)) return once(part1, Fault::kSlowDown);
    if (IsPartUpload(line, 2)) return once(part2, Fault::kReset);
    if (line.rfind("POST ", 0) == 0 && line.find("uploadId=") != std::string::npos)
      return once(complete, Fault::kReset);
    if (IsManifestPut(line))
      return manifest_slow ? once(manifest_reset, Fault::kReset)
                           : once(manifest_slow, Fault::kSlowDown);
    if (line.rfind("GET ", 0) == 0 && line.find(".datadir.tar.zst") != std::string::npos)
      return once(download, Fault::kCutResponse);
    return Fault::kNone;
  });
  std::string id = BackupOk();
  EXPECT_EQ(faults.load(), 5);
  EXPECT_EQ(RemoteSetIds(), std::vector<std::string>{id});
  JsonRun verify = RunJson(config_path_, {"verify", "--deep", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(faults.load(), 6);
  EXPECT_TRUE(Pending().empty());
  EXPECT_TRUE(node_.IsRunning());
}

TEST_F(S3FaultsTest, AFaultPastTheRetryBudgetFailsCleanly) {
  S3_NODE_TEST_OR_SKIP();
  retry_max_time_ = "3s";
  ThroughProxy([&](int, const std::string& line) {
    return IsManifestPut(line) ? Fault::kSlowDown : Fault::kNone;
  });
  CommandResult backup = Run({"backup"});
  EXPECT_EQ(backup.exit_code, kExitFailed) << backup.out << backup.err;
  EXPECT_NE(backup.err.find("manifests/"), std::string::npos) << backup.err;
  EXPECT_TRUE(node_.IsRunning());
  JsonRun list = RunJson(config_path_, {"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(list.doc["sets"].empty()) << list.out;
  EXPECT_TRUE(Keys("locks/").empty()) << "a failed backup releases its lock";

  // A failure it saw (not a kill) removes what it stored of the set.
  EXPECT_TRUE(Keys("sets/").empty());
  EXPECT_TRUE(Pending().empty());
  main_endpoint_.clear();  // the network is back
  WriteS3Config();
  ExpectAuditSeesNothingButNoSet();
}

// copy local -> S3 killed while the second set uploads, then run again: the first set is not
// sent again, and every set ends up complete in the bucket.
TEST_F(S3FaultsTest, AKilledCopyResumesWithoutResendingCopiedSets) {
  S3_NODE_TEST_OR_SKIP();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    // Full sets: copying a chain is the copy of each set, parents first.
    JsonRun backup = RunJson(config_path_, {"--repo", "local", "backup", "--full"});
    ASSERT_EQ(backup.exit_code, 0) << backup.out << backup.err;
    ids.push_back(backup.doc["id"]);
  }
  std::sort(ids.begin(), ids.end());

  auto writes_to = [](const std::string& line, const std::string& id) {
    return (line.rfind("PUT ", 0) == 0 || line.rfind("POST ", 0) == 0) &&
           line.find("/" + id) != std::string::npos;
  };
  std::atomic<bool> stalled{false};
  ThroughProxy([&](int, const std::string& line) {
    if (!writes_to(line, ids[1])) return Fault::kNone;
    stalled = true;
    return Fault::kStall;
  });
  std::unique_ptr<Subprocess> copy = Start({"--repo", "local", "copy", "--to", "main"});
  ASSERT_NE(copy, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return stalled.load(); }, seconds(120)));
  copy->Signal(SIGKILL);
  copy->Wait();
  EXPECT_EQ(RemoteSetIds(), std::vector<std::string>{ids[0]});
  std::map<std::string, std::string> first_etags;
  for (const ObjectInfo& object : Objects("sets/" + ids[0] + "/"))
    first_etags[object.key] = object.etag;
  EXPECT_EQ(first_etags.size(), 3u);  // both halves and the index

  // The killed copy's lock stays fresh for 30 minutes; the admin knows it is dead.
  JsonRun unlock = RunJson(config_path_, {"unlock", "--force"});
  ASSERT_EQ(unlock.exit_code, 0) << unlock.out << unlock.err;
  std::atomic<int> first_set_writes{0};
  proxy_.reset();
  ThroughProxy([&](int, const std::string& line) {
    if (writes_to(line, ids[0])) ++first_set_writes;
    return Fault::kNone;
  });
  JsonRun rerun = RunJson(config_path_, {"--repo", "local", "copy", "--to", "main"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  EXPECT_EQ(rerun.doc["already_there"], nlohmann::json::array({ids[0]})) << rerun.out;
  EXPECT_EQ(first_set_writes.load(), 0);
  EXPECT_EQ(RemoteSetIds(), ids);
  for (const ObjectInfo& object : Objects("sets/" + ids[0] + "/"))
    EXPECT_EQ(object.etag, first_etags[object.key]) << object.key;
  JsonRun verify = RunJson(config_path_, {"verify", "--deep"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // What the killed copy left of the second set was replaced; nothing else remains.
  JsonRun audit = RunJson(config_path_, {"audit", "--quick"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_TRUE(Keys("locks/").empty());
}

TEST_F(S3FaultsTest, CopyToAnUnreachableRepositoryExitsSixWithTheLocalSetComplete) {
  S3_NODE_TEST_OR_SKIP();
  retry_max_time_ = "2s";
  WriteS3Config(S3RepositoryToml("repositories.broken", bucket_name_, "broken/", "",
                                 "http://127.0.0.1:9"));  // discard: nobody listens
  // The set's JSON is printed once it is complete, before the copy is tried.
  JsonRun backup = RunJson(config_path_, {"--repo", "local", "backup", "--copy-to", "broken"});
  EXPECT_EQ(backup.exit_code, kExitCopyFailed) << backup.out << backup.err;
  EXPECT_NE(backup.err.find("copy to broken failed"), std::string::npos) << backup.err;
  EXPECT_NE(backup.err.find("copy --to broken"), std::string::npos) << backup.err;
  ASSERT_TRUE(backup.doc.contains("id")) << backup.out;
  const std::string id = backup.doc["id"];
  JsonRun verify = RunJson(config_path_, {"--repo", "local", "verify", "--deep", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  JsonRun list = RunJson(config_path_, {"--repo", "local", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  ASSERT_EQ(list.doc["sets"].size(), 1u) << list.out;
  EXPECT_EQ(list.doc["sets"][0]["status"], "complete");
  EXPECT_TRUE(node_.IsRunning());
}

}  // namespace
}  // namespace testing
}  // namespace gb
