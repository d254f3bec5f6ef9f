// End-to-end on an Object Lock bucket (ransomware protection): every object a backup writes
// is locked; check says so and warns when the lock is shorter than what [retention] keeps;
// prune removes what it may and says until when the locked objects stay stored.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/ceph_cluster.h"
#include "tests/support/cli_json.h"
#include "tests/support/s3_node_fixture.h"

namespace gb {
namespace testing {
namespace {

class S3ObjectLockTest : public S3NodeTest {
 protected:
  // The main repository becomes a new Object Lock bucket, locked `mode` for one day.
  void UseObjectLockBucket(const std::string& mode, const std::string& extra_toml = "") {
    S3Config config = bucket_->client().config();
    config.bucket = bucket_name_ + "-locked";
    std::string skip_reason;
    const RgwEndpoint* rgw = SharedRgw(&skip_reason);
    ASSERT_NE(rgw, nullptr) << skip_reason;
    Result<std::unique_ptr<S3Store>> locked =
        S3Store::Open(config, S3Credentials{rgw->access_key, rgw->secret_key, ""});
    ASSERT_TRUE(locked.ok()) << locked.status().ToString();
    ASSERT_TRUE((*locked)->CreateBucket(S3Store::BucketKind::kObjectLock).ok());
    bucket_ = std::move(locked).value();
    bucket_name_ = config.bucket;
    WriteS3Config(extra_toml, "object_lock = \"" + mode + "\"\nobject_lock_retain = \"1d\"\n");
  }
};

TEST_F(S3ObjectLockTest, EveryObjectOfASetIsLockedAndPruneSaysUntilWhen) {
  S3_NODE_TEST_OR_SKIP();
  UseObjectLockBucket("governance",
                      "[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\n"
                      "keep_monthly = 0\nkeep_within = \"0s\"\n");
  JsonRun check = RunJson(config_path_, {"check"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  ASSERT_FALSE(FindingsAbout(check.doc, "object lock").empty()) << check.out;
  EXPECT_EQ(FindingsAbout(check.doc, "object lock")[0]["message"].get<std::string>().find("warning"),
            std::string::npos)
      << "1 day covers a retention that keeps only the newest set";

  std::string first = BackupOkInItsOwnSecond({"--full"});  // full: second builds on no set
  for (const std::string& key : Keys("")) {
    if (key.rfind("locks/", 0) == 0) continue;
    Result<HeadResult> head = bucket_->Head(key);
    ASSERT_TRUE(head.ok() && head->exists) << key;
    EXPECT_TRUE(head->locked_until.has_value()) << key << " is not locked";
  }
  std::string second = BackupOk({"--full"});
  JsonRun pruned = RunJson(config_path_, {"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  bool said = false;
  for (const auto& set : pruned.doc["sets"])
    if (set["id"] == first && set["action"] == "remove")
      for (const auto& reason : set["reasons"])
        said |= reason.get<std::string>().find("stay stored until") != std::string::npos;
  EXPECT_TRUE(said) << pruned.out;
  EXPECT_EQ(RemoteSetIds(), (std::vector<std::string>{second}));
  JsonRun audit = RunJson(config_path_, {"audit"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
}

TEST_F(S3ObjectLockTest, CheckWarnsWhenTheLockIsShorterThanTheRetention) {
  S3_NODE_TEST_OR_SKIP();
  UseObjectLockBucket("compliance");  // [retention] defaults keep monthly sets for 6 months
  JsonRun check = RunJson(config_path_, {"check"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  auto lock = FindingsAbout(check.doc, "object lock");
  ASSERT_FALSE(lock.empty()) << check.out;
  EXPECT_NE(lock[0]["message"].get<std::string>().find("warning"), std::string::npos) << check.out;
  EXPECT_NE(lock[0]["message"].get<std::string>().find("186d"), std::string::npos) << check.out;
}

TEST_F(S3ObjectLockTest, ABucketWithoutObjectLockIsRefusedByCheck) {
  S3_NODE_TEST_OR_SKIP();
  WriteS3Config("", "object_lock = \"governance\"\n");  // the fixture's plain bucket
  JsonRun check = RunJson(config_path_, {"check"});
  EXPECT_EQ(check.exit_code, 1) << check.out;
  EXPECT_TRUE(HasProblem(check.doc, "repository", "does not accept Object Lock")) << check.out;
  CommandResult backup = Run({"backup"});
  EXPECT_EQ(backup.exit_code, 1) << backup.err;
  EXPECT_TRUE(RemoteSetIds().empty());
  EXPECT_TRUE(node_.IsRunning());
}

}  // namespace
}  // namespace testing
}  // namespace gb
