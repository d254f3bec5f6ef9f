// The parts of the S3 store that need no server: URLs in the canonical form libcurl 7.88
// signs, credentials from the environment, key files and profiles, the XML bodies, the
// config check and the retry classification.

#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "io/env.h"
#include "io/files.h"
#include "store/s3_config.h"
#include "store/s3_credentials.h"
#include "store/s3_http.h"
#include "store/s3_retry.h"
#include "store/s3_xml.h"

namespace gb {
namespace {

S3Config Config() {
  S3Config config;
  config.endpoint = "http://127.0.0.1:7480";
  config.bucket = "backups";
  return config;
}

TEST(S3UrlTest, PathStyleWithSortedEncodedQuery) {
  EXPECT_EQ(S3Url(Config(), "node-a/data/x.bin", {}), "http://127.0.0.1:7480/backups/node-a/data/x.bin");
  EXPECT_EQ(S3Url(Config(), "", {{"prefix", "node-a/manifests/"}, {"list-type", "2"},
                                  {"continuation-token", "a+b=c"}}),
            "http://127.0.0.1:7480/backups?continuation-token=a%2Bb%3Dc&list-type=2&"
            "prefix=node-a%2Fmanifests%2F");
  // Value-less flags keep their "=" (libcurl 7.88 signs "uploads" and "uploads=" differently).
  EXPECT_EQ(S3Url(Config(), "k", {{"uploads", ""}}), "http://127.0.0.1:7480/backups/k?uploads=");
}

TEST(S3UrlTest, HostStyleAndKeyEncoding) {
  S3Config config = Config();
  config.endpoint = "https://s3.example.net/";
  config.uri_style = UriStyle::kHost;
  EXPECT_EQ(S3Url(config, "a b/c+d", {}), "https://backups.s3.example.net/a%20b/c%2Bd");
  EXPECT_EQ(S3Name(config, "a/b"), "s3://backups/a/b");
}

TEST(S3ConfigTest, RefusesWhatCannotWork) {
  EXPECT_TRUE(CheckS3Config(Config()).ok());
  S3Config small = Config();
  small.part_size = 1 << 20;
  EXPECT_NE(CheckS3Config(small).message().find("part_size"), std::string::npos);
  S3Config prefix = Config();
  prefix.prefix = "node-a";
  EXPECT_NE(CheckS3Config(prefix).message().find("prefix"), std::string::npos);
  S3Config plus = Config();
  plus.prefix = "node+a/";
  EXPECT_NE(CheckS3Config(plus).message().find("prefix"), std::string::npos);
  S3Config scheme = Config();
  scheme.endpoint = "ftp://x";
  EXPECT_EQ(CheckS3Config(scheme).code(), Code::kUsage);
}

TEST(S3ConfigTest, PartsGrowOnlyForVeryLongStreams) {
  const size_t base = 16u << 20;
  EXPECT_EQ(PartSizeFor(1, base), base);
  EXPECT_EQ(PartSizeFor(2000, base), base);
  EXPECT_EQ(PartSizeFor(2001, base), 2 * base);
  EXPECT_EQ(PartSizeFor(4001, base), 4 * base);
  EXPECT_EQ(PartSizeFor(6001, base), 8 * base);
  EXPECT_EQ(PartSizeFor(kS3MaxParts, base), 8 * base);
  uint64_t capacity = 0;
  for (int part = 1; part <= kS3MaxParts; ++part) capacity += PartSizeFor(part, base);
  EXPECT_EQ(capacity, 46000 * base);  // about 720 GiB with 16 MiB parts
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                             "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"}) {
      ::unsetenv(name);
    }
    Result<std::string> dir = MakeTempDir("/tmp", "gb-credentials-test.");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
  }
  void TearDown() override { EXPECT_TRUE(Env::Default()->RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(CredentialsTest, FromTheEnvironment) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  Result<S3Credentials> half = CredentialsFromEnvironment();
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("secret key is missing"), std::string::npos);
  ::setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
  ::setenv("AWS_SESSION_TOKEN", "token", 1);
  Result<S3Credentials> full = CredentialsFromEnvironment();
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->access_key, "AKIDEXAMPLE");
  EXPECT_EQ(full->secret_key, "s3cr3t");
  EXPECT_EQ(full->session_token, "token");
}

TEST_F(CredentialsTest, FromKeyFilesThatOnlyTheOwnerMayRead) {
  const std::string access = dir_ + "/access", secret = dir_ + "/secret";
  ASSERT_TRUE(WriteFile(access, "AKIDFILE\n", 0600).ok());
  ASSERT_TRUE(WriteFile(secret, "  fileSecret \n", 0644).ok());
  Result<S3Credentials> loose = CredentialsFromKeyFiles(access, secret);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.status().message().find("0644"), std::string::npos) << loose.status().ToString();
  EXPECT_EQ(loose.status().hint(), "chmod 600 " + secret);
  EXPECT_EQ(loose.status().ToString().find("fileSecret"), std::string::npos);
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  Result<S3Credentials> loaded = CredentialsFromKeyFiles(access, secret);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->access_key, "AKIDFILE");
  EXPECT_EQ(loaded->secret_key, "fileSecret");
}

TEST_F(CredentialsTest, FromAProfileOfTheSharedFile) {
  const std::string file = dir_ + "/credentials";
  ASSERT_TRUE(WriteFile(file,
                        "# written by aws configure\n"
                        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n\n"
                        "[backup]\naws_access_key_id=AKIDBACKUP\n"
                        "aws_secret_access_key = b/ck+up\naws_session_token = t\n",
                        0600)
                  .ok());
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
  Result<S3Credentials> by_default = CredentialsFromProfile("", "");
  ASSERT_TRUE(by_default.ok()) << by_default.status().ToString();
  EXPECT_EQ(by_default->access_key, "AKIDDEFAULT");
  ::setenv("AWS_PROFILE", "backup", 1);
  Result<S3Credentials> named = CredentialsFromProfile("", "");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->access_key, "AKIDBACKUP");
  EXPECT_EQ(named->secret_key, "b/ck+up");
  EXPECT_EQ(named->session_token, "t");
  S3CredentialSource source;
  source.kind = S3CredentialSource::Kind::kProfile;
  source.profile = "default";
  Result<S3Credentials> loaded = LoadCredentials(source);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->access_key, "AKIDDEFAULT");
  Result<S3Credentials> missing = CredentialsFromProfile(file, "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("[nope]"), std::string::npos);
}

TEST(S3XmlTest, ListingPagesAndErrors) {
  Result<S3ObjectPage> page = ParseListObjectsV2(
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/en</NextContinuationToken>"
      "<Contents><Key>p/a</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag></Contents>"
      "<Contents><Key>p/b</Key><Size>0</Size><ETag>\"def-2\"</ETag></Contents>"
      "</ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "tok/en");
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[0].etag, "abc");
  EXPECT_EQ(page->objects[1].etag, "def-2");

  const S3ErrorBody error = ParseS3Error(
      "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
  EXPECT_EQ(error.code, "SlowDown");
  EXPECT_EQ(ParseS3Error("<html>bad gateway</html>").code, "");
  EXPECT_EQ(ParseS3Error("").code, "");
  EXPECT_FALSE(ParseListObjectsV2("not xml").ok());
}

TEST(S3RetryTest, WhatIsRetriedAndWhatIsNot) {
  S3Response response;
  response.transport_error = "Connection reset by peer";
  EXPECT_TRUE(IsRetryable(response));  // status 0: no answer
  response.status = 503;
  EXPECT_TRUE(IsRetryable(response));
  response.status = 429;
  EXPECT_TRUE(IsRetryable(response));
  response.status = 400;
  response.body = "<Error><Code>RequestTimeout</Code></Error>";
  EXPECT_TRUE(IsRetryable(response));
  response.body = "<Error><Code>BadDigest</Code></Error>";
  EXPECT_FALSE(IsRetryable(response));
  response.status = 403;
  response.body = "<Error><Code>SignatureDoesNotMatch</Code></Error>";
  EXPECT_FALSE(IsRetryable(response));
  const Status status = S3ErrorStatus(response, "PUT s3://backups/k");
  EXPECT_EQ(status.message(), "S3 PUT s3://backups/k: HTTP 403 SignatureDoesNotMatch");
  EXPECT_EQ(status.hint(), "the secret key is wrong (SignatureDoesNotMatch)");
  response.status = 200;
  response.sink_status = Status::Failed("disk full");
  EXPECT_FALSE(IsRetryable(response));
}

TEST(S3RetryTest, BackoffStopsAtTheBudget) {
  S3Config config = Config();
  config.retry_initial_delay = std::chrono::milliseconds(1);
  config.retry_max_delay = std::chrono::milliseconds(2);
  config.retry_max_time = std::chrono::milliseconds(0);
  S3Backoff none(config);
  EXPECT_FALSE(none.WaitBeforeRetry());
  config.retry_max_time = std::chrono::seconds(60);
  S3Backoff some(config);
  EXPECT_TRUE(some.WaitBeforeRetry());
  EXPECT_TRUE(some.WaitBeforeRetry());
  EXPECT_EQ(some.attempts(), 3);
}

}  // namespace
}  // namespace gb
