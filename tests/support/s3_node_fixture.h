// S3NodeTest: the end-to-end fixture of GovernNodeTest whose main repository is a fresh bucket
// on the shared throwaway Ceph RGW (credentials in 0600 key files, as an admin would keep
// them), and whose local repository (repo_) is configured as [repositories.local], so that
// copy and --repo scenarios run both ways. `bucket_` gives direct access to the repository's
// objects, for tests that inspect or damage them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/s3_store.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {

class S3NodeTest : public GovernNodeTest {
 protected:
  void SetUp() override;

  // The TOML of an S3 repository table on `bucket` under `prefix` (ending with "/"), with
  // `extra` keys appended; `endpoint` "" = the RGW's.
  std::string S3RepositoryToml(const std::string& table, const std::string& bucket,
                               const std::string& prefix, const std::string& extra = "",
                               const std::string& endpoint = "") const;
  // Rewrites the config: main = the bucket, [repositories.local] = repo_, then `extra_toml`.
  void WriteS3Config(const std::string& extra_toml = "", const std::string& main_extra = "");
  // Every key under the repository's prefix (relative to it), sorted.
  std::vector<std::string> Keys(const std::string& prefix = "");
  // The set ids with a manifest in the bucket.
  std::vector<std::string> RemoteSetIds();

  std::string bucket_name_;
  std::string prefix_ = "node-a/";
  std::unique_ptr<S3Store> bucket_;  // the repository's objects, under prefix_
  std::string endpoint_;
  std::string access_key_file_;
  std::string secret_key_file_;
  // What WriteS3Config puts in the main table: "" = the RGW's endpoint (a FaultProxy's puts
  // faults between the tool and the bucket); the retry budget of every S3RepositoryToml.
  std::string main_endpoint_;
  std::string retry_max_time_ = "20s";
};

// Skips the test when RGW cannot run here (no Ceph packages and $CI unset).
#define S3_NODE_TEST_OR_SKIP()                                      \
  if (bucket_ == nullptr) GTEST_SKIP() << "no Ceph RGW on this machine"

}  // namespace testing
}  // namespace gb
