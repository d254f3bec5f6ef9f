// End-to-end: chains in an S3 repository (a bucket on a throwaway Ceph RGW), as
// e2e_chain_test checks them locally: verify checks the chain, copy takes it whole, prune keeps
// what a kept set builds on, and a parent damaged in the bucket fails verify, audit and
// restore of the sets that build on it. The chain is made of real sets whose manifest objects
// are rewritten (type, parent; the checksum recomputed by Manifest::ToText).
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "io/byte_stream.h"
#include "tests/support/cli_json.h"
#include "tests/support/s3_node_fixture.h"

namespace gb {
namespace testing {
namespace {

class S3ChainTest : public S3NodeTest {
 protected:
  std::string ManifestKey(const std::string& id) { return "manifests/" + id + ".toml"; }

  void BuildOn(const std::string& id, const std::string& parent) {
    StringSink text;
    ASSERT_TRUE(bucket_->Get(ManifestKey(id), 0, Store::kToEnd, text).ok());
    Result<Manifest> manifest = Manifest::Parse(text.bytes(), id);
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    manifest->type = SetType::kIncremental;
    manifest->parent = parent;
    StringSource rewritten(manifest->ToText());
    ASSERT_TRUE(bucket_->Put(ManifestKey(id), rewritten).ok());
  }
};

TEST_F(S3ChainTest, VerifyCopyPruneAndADamagedParentInTheBucket) {
  S3_NODE_TEST_OR_SKIP();
  Result<ExitInfo> stopped = RunDss("stop");  // faster sets: DSS is neither stopped nor started
  ASSERT_TRUE(stopped.ok() && stopped->success());
  const std::string lone = BackupOkInItsOwnSecond({"--full"});
  const std::string a = BackupOkInItsOwnSecond({"--full"});
  const std::string b = BackupOkInItsOwnSecond({"--full"});
  const std::string c = BackupOk({"--full"});
  BuildOn(b, a);
  BuildOn(c, b);

  JsonRun verified = RunJson(config_path_, {"verify", c});
  ASSERT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  std::vector<std::string> order;
  for (const auto& set : verified.doc["sets"]) order.push_back(set["id"]);
  EXPECT_EQ(order, (std::vector<std::string>{a, b, c}));

  JsonRun copied = RunJson(config_path_, {"copy", "--to", "local", c});
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  EXPECT_EQ(copied.doc["copied"], nlohmann::json({a, b, c}));
  JsonRun verify_local = RunJson(config_path_, {"--repo", "local", "verify", c});
  EXPECT_EQ(verify_local.exit_code, 0) << verify_local.out << verify_local.err;

  WriteS3Config("[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n"
                "keep_within = \"0s\"\n");
  JsonRun pruned = RunJson(config_path_, {"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  std::map<std::string, std::pair<std::string, nlohmann::json>> plan;
  for (const auto& set : pruned.doc["sets"]) plan[set["id"]] = {set["action"], set["reasons"]};
  EXPECT_EQ(plan[lone].first, "remove");
  EXPECT_EQ(plan[a], (std::pair<std::string, nlohmann::json>{"keep", {"needed by " + b}}));
  EXPECT_EQ(plan[b], (std::pair<std::string, nlohmann::json>{"keep", {"needed by " + c}}));
  EXPECT_EQ(RemoteSetIds(), (std::vector<std::string>{a, b, c}));

  // a's data-dir half gone from the bucket: b and c cannot be restored.
  ASSERT_TRUE(bucket_->Delete("sets/" + a + "/" + a + ".datadir.tar.zst").ok());
  JsonRun broken = RunJson(config_path_, {"verify", c});
  EXPECT_EQ(broken.exit_code, 3) << broken.out << broken.err;
  EXPECT_TRUE(HasProblem(broken.doc, "set " + a + " data-dir half", "is missing")) << broken.out;
  EXPECT_TRUE(HasProblem(broken.doc, "set " + c + " chain", "builds on set " + a)) << broken.out;
  JsonRun audit = RunJson(config_path_, {"audit", "--quick"});
  EXPECT_EQ(audit.exit_code, 3) << audit.out;
  EXPECT_TRUE(HasProblem(audit.doc, "set " + a + " chain", "build on it (" + b + ", " + c + ")"))
      << audit.out;
  JsonRun restore = RunJson(config_path_, {"restore", c, "--yes"});
  EXPECT_EQ(restore.exit_code, 4) << restore.out << restore.err;
  EXPECT_TRUE(HasProblem(restore.doc, "set " + a + " data-dir half",
                         "set " + c + " builds on set " + a))
      << restore.out;
}

}  // namespace
}  // namespace testing
}  // namespace gb
