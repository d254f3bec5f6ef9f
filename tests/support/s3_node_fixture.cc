#include "tests/support/s3_node_fixture.h"

#include <algorithm>
#include <fstream>

#include "io/files.h"
#include "io/text.h"
#include "tests/support/ceph_cluster.h"

namespace gb {
namespace testing {

void S3NodeTest::SetUp() {
  GovernNodeTest::SetUp();
  std::string skip_reason;
  const RgwEndpoint* rgw = SharedRgw(&skip_reason);
  if (rgw == nullptr) return;
  endpoint_ = rgw->endpoint;
  bucket_name_ = "e2e-" + RandomHex(5);
  access_key_file_ = root_ + "/s3-access-key";
  secret_key_file_ = root_ + "/s3-secret-key";
  ASSERT_TRUE(WriteFile(access_key_file_, rgw->access_key + "\n", 0600).ok());
  ASSERT_TRUE(WriteFile(secret_key_file_, rgw->secret_key + "\n", 0600).ok());
  S3Config config;
  config.endpoint = rgw->endpoint;
  config.bucket = bucket_name_;
  config.prefix = prefix_;
  Result<std::unique_ptr<S3Store>> store =
      S3Store::Open(config, S3Credentials{rgw->access_key, rgw->secret_key, ""});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateBucket().ok());
  bucket_ = std::move(store).value();
  WriteS3Config();
}

std::string S3NodeTest::S3RepositoryToml(const std::string& table, const std::string& bucket,
                                         const std::string& prefix, const std::string& extra,
                                         const std::string& endpoint) const {
  return "[" + table + "]\n" +
         "url = \"s3://" + bucket + "/" + prefix + "\"\n" +
         "endpoint = \"" + (endpoint.empty() ? endpoint_ : endpoint) + "\"\n" +
         "credentials = \"file\"\n" +
         "access_key_file = \"" + access_key_file_ + "\"\n" +
         "secret_key_file = \"" + secret_key_file_ + "\"\n" +
         "part_size = \"5MiB\"\n" +
         "retry_max_time = \"" + retry_max_time_ + "\"\n" + extra + "\n";
}

void S3NodeTest::WriteS3Config(const std::string& extra_toml, const std::string& main_extra) {
  repository_toml_ =
      S3RepositoryToml("repository", bucket_name_, prefix_, main_extra, main_endpoint_) +
      "[repositories.local]\npath = \"" + repo_ + "\"\n\n";
  WriteConfig(extra_toml);
}

std::vector<std::string> S3NodeTest::Keys(const std::string& prefix) {
  std::vector<std::string> keys;
  Result<std::vector<ObjectInfo>> listed = bucket_->List(prefix);
  EXPECT_TRUE(listed.ok()) << listed.status().ToString();
  if (listed.ok())
    for (const ObjectInfo& object : *listed) keys.push_back(object.key);
  return keys;
}

std::vector<std::string> S3NodeTest::RemoteSetIds() {
  std::vector<std::string> ids;
  for (const std::string& key : Keys("manifests/"))
    ids.push_back(key.substr(10, key.size() - 10 - 5));  // manifests/<ID>.toml
  return ids;
}

}  // namespace testing
}  // namespace gb
