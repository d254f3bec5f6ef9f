// End-to-end scenarios on an S3 repository (a bucket on a throwaway Ceph RGW) with a real
// PostgreSQL and a generated Govern node: what the local suite checks, through the bucket.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "tests/support/cli_json.h"
#include "tests/support/s3_node_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> SkippedByRestore() {
  std::vector<std::string> skip = BackupConfig::DefaultExcludes();
  skip.push_back(".govern-backup");
  return skip;
}

class S3Test : public S3NodeTest {};

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
  EXPECT_EQ(list.doc["sets"][0]["status"], "complete");

  JsonRun verify = RunJson(config_path_, {"verify", "--deep"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  JsonRun audit = RunJson(config_path_, {"audit"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;

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
