// S3 Object Lock in S3Store, against a throwaway Ceph RGW: with object_lock set, every object
// written (a single PUT, a multipart upload, a create-if-absent) carries the mode and a
// retain-until date of now + object_lock_retain; Head reports that date; Delete hides the key
// (a delete marker) and succeeds, while removing the locked version itself is refused; a
// bucket without Object Lock refuses the first write with an error that says what to do.
// The header and config rules are checked offline first.

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "store/s3_http.h"
#include "store/s3_multipart.h"
#include "tests/store_test_util.h"

namespace gb {
namespace testing {
namespace {

using std::chrono::system_clock;
constexpr std::chrono::seconds kOneDay{24 * 3600};

TEST(ObjectLockConfigTest, HeadersNameTheModeAndNowPlusRetainInUtc) {
  S3Config config;
  config.object_lock = ObjectLockMode::kCompliance;
  config.object_lock_retain = kOneDay;
  const std::optional<TimePoint> now = ParseRfc3339("2026-11-29T23:30:15Z");
  ASSERT_TRUE(now.has_value());
  const std::vector<std::string> expected{
      "x-amz-object-lock-mode: COMPLIANCE",
      "x-amz-object-lock-retain-until-date: 2026-11-30T23:30:15Z"};
  EXPECT_EQ(ObjectLockHeaders(config, *now + std::chrono::milliseconds(700)), expected);
  config.object_lock = ObjectLockMode::kGovernance;
  EXPECT_EQ(ObjectLockHeaders(config, *now).at(0), "x-amz-object-lock-mode: GOVERNANCE");
  config.object_lock = ObjectLockMode::kNone;
  EXPECT_TRUE(ObjectLockHeaders(config, *now).empty());
}

TEST(ObjectLockConfigTest, ModesParseFromTheConfigurationNames) {
  EXPECT_EQ(ParseObjectLockMode("").value(), ObjectLockMode::kNone);
  EXPECT_EQ(ParseObjectLockMode("governance").value(), ObjectLockMode::kGovernance);
  EXPECT_EQ(ParseObjectLockMode("compliance").value(), ObjectLockMode::kCompliance);
  Result<ObjectLockMode> wrong = ParseObjectLockMode("COMPLIANCE");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("\"COMPLIANCE\""), std::string::npos);
}

TEST(ObjectLockConfigTest, ALockWithoutRetentionIsRefused) {
  S3Config config;
  config.endpoint = "http://127.0.0.1:1";
  config.bucket = "bucket";
  config.object_lock = ObjectLockMode::kGovernance;
  Status checked = CheckS3Config(config);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.message().find("object_lock_retain"), std::string::npos) << checked.ToString();
  config.object_lock_retain = std::chrono::seconds(1);
  EXPECT_TRUE(CheckS3Config(config).ok());
}

TEST(ObjectLockConfigTest, RetainUntilDatesParseWithFractionalSeconds) {
  // What RGW 16.2 and AWS write in x-amz-object-lock-retain-until-date.
  EXPECT_EQ(ParseRfc3339("2026-11-30T23:30:15.000Z"), ParseRfc3339("2026-11-30T23:30:15Z"));
  EXPECT_EQ(ParseRfc3339("2026-11-30T23:30:15.123456789Z"), ParseRfc3339("2026-11-30T23:30:15Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-30 23:30:15").has_value());
}

// A store on a new bucket of the shared RGW, created with Object Lock when `lock_bucket`;
// objects are written with `mode` for one day. nullptr (with `skip_reason`) without RGW.
std::unique_ptr<S3Store> LockStore(std::string* skip_reason, bool lock_bucket,
                                   ObjectLockMode mode) {
  const RgwEndpoint* rgw = SharedRgw(skip_reason);
  if (rgw == nullptr) return nullptr;
  S3Config config = TestS3Config(*rgw, "gblock-" + RandomHex(6));
  config.object_lock = mode;
  config.object_lock_retain = kOneDay;
  Result<std::unique_ptr<S3Store>> store =
      S3Store::Open(config, S3Credentials{rgw->access_key, rgw->secret_key, ""});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  Status created = (*store)->CreateBucket(lock_bucket ? S3Store::BucketKind::kObjectLock
                                                      : S3Store::BucketKind::kPlain);
  EXPECT_TRUE(created.ok()) << created.ToString();
  return created.ok() ? std::move(store).value() : nullptr;
}

#define LOCK_STORE_OR_SKIP(store, lock_bucket, mode)                         \
  std::string skip_reason;                                                   \
  std::unique_ptr<S3Store> store = LockStore(&skip_reason, lock_bucket, mode); \
  if (store == nullptr && !skip_reason.empty()) GTEST_SKIP() << skip_reason; \
  ASSERT_NE(store, nullptr)

size_t CountOf(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// The raw answer of a request on `key` (relative to the store's prefix; "": the bucket),
// whatever its status.
S3Response Raw(S3Store& store, const std::string& method, const std::string& key,
               std::map<std::string, std::string> query = {},
               std::vector<std::string> headers = {}) {
  S3Request request(method, key.empty() ? "" : store.client().config().prefix + key,
                    std::move(query));
  request.headers = std::move(headers);
  Result<S3Response> response = store.client().Send(std::move(request), {400, 403, 404, 409});
  EXPECT_TRUE(response.ok()) << response.status().ToString();
  return response.ok() ? *response : S3Response{};
}

class ObjectLockTest : public ::testing::TestWithParam<ObjectLockMode> {
 protected:
  // Checks that `key` is stored under the test's lock for about one day from `written`, as
  // both the raw HEAD and Store::Head say; returns its version id.
  std::string ExpectLocked(S3Store& store, const std::string& key, TimePoint written) {
    const S3Response head = Raw(store, "HEAD", key);
    EXPECT_EQ(head.status, 200) << key;
    EXPECT_EQ(head.Header("x-amz-object-lock-mode"), ObjectLockModeHeader(GetParam())) << key;
    const std::optional<TimePoint> until =
        ParseRfc3339(head.Header("x-amz-object-lock-retain-until-date"));
    EXPECT_TRUE(until.has_value()) << key << ": "
                                   << head.Header("x-amz-object-lock-retain-until-date");
    const auto off_by = std::chrono::abs(until.value_or(TimePoint{}) - (written + kOneDay));
    EXPECT_LE(off_by, std::chrono::seconds(10)) << key;

    Result<HeadResult> stored = store.Head(key);
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    if (stored.ok()) {
      EXPECT_EQ(stored->locked_until, until) << key;
    }
    EXPECT_FALSE(head.Header("x-amz-version-id").empty()) << key;
    return head.Header("x-amz-version-id");
  }
};

TEST_P(ObjectLockTest, EveryObjectWrittenCarriesTheRetention) {
  LOCK_STORE_OR_SKIP(store, true, GetParam());
  Result<bool> enabled = store->BucketHasObjectLock();
  ASSERT_TRUE(enabled.ok()) << enabled.status().ToString();
  EXPECT_TRUE(*enabled);
  const TimePoint written = system_clock::now();

  StringSource small("manifest");
  ASSERT_TRUE(store->Put("sets/a/manifest.toml", small).ok());
  ExpectLocked(*store, "sets/a/manifest.toml", written);

  // 12 MB with 5 MiB parts: a multipart upload of 3 parts, locked after completion on RGW.
  GeneratedSource large(12'000'000);
  Result<ObjectInfo> put = store->Put("sets/a/half.tar.zst", large);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_NE(put->etag.find("-3"), std::string::npos) << put->etag;
  const std::string version = ExpectLocked(*store, "sets/a/half.tar.zst", written);
  // Locking it made no second version: the one locked is the one uploaded, the only one.
  const S3Response versions = Raw(*store, "GET", "", {{"versions", ""},
                                  {"prefix", store->client().config().prefix + "sets/a/half"}});
  EXPECT_EQ(CountOf(versions.body, "<Version>"), 1u) << versions.body;
  EXPECT_EQ(CountOf(versions.body, "<VersionId>" + version + "</VersionId>"), 1u)
      << versions.body;

  Result<CreateOutcome> created = store->CreateIfAbsent("locks/one", "holder");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ExpectLocked(*store, "locks/one", written);
}

TEST_P(ObjectLockTest, DeleteHidesTheKeyWhileTheLockedVersionStays) {
  LOCK_STORE_OR_SKIP(store, true, GetParam());
  StringSource source("manifest");
  ASSERT_TRUE(store->Put("sets/b/manifest.toml", source).ok());
  const std::string version = ExpectLocked(*store, "sets/b/manifest.toml", system_clock::now());

  ASSERT_TRUE(store->Delete("sets/b/manifest.toml").ok());
  Result<std::vector<ObjectInfo>> listed = store->List("sets/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_TRUE(listed->empty());
  Result<HeadResult> head = store->Head("sets/b/manifest.toml");
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->exists);
  // Deleting twice stays fine (a second delete marker).
  EXPECT_TRUE(store->Delete("sets/b/manifest.toml").ok());

  // The version itself is still there and cannot be removed.
  const S3Response removal =
      Raw(*store, "DELETE", "sets/b/manifest.toml", {{"versionId", version}});
  EXPECT_EQ(removal.status, 403);
  EXPECT_EQ(ParseS3Error(removal.body).code, "AccessDenied") << removal.body;
  const S3Response still = Raw(*store, "HEAD", "sets/b/manifest.toml", {{"versionId", version}});
  EXPECT_EQ(still.status, 200);

  // Governance yields to a user allowed to bypass it (the bucket's owner here); compliance
  // yields to nobody.
  const S3Response bypass = Raw(*store, "DELETE", "sets/b/manifest.toml", {{"versionId", version}},
                                {"x-amz-bypass-governance-retention: true"});
  EXPECT_EQ(bypass.status, GetParam() == ObjectLockMode::kGovernance ? 204 : 403) << bypass.body;
}

TEST_P(ObjectLockTest, LocksOnALockBucketUseTheListBasedProtocol) {
  LOCK_STORE_OR_SKIP(store, true, GetParam());
  // A lock bucket is versioned for good, and RGW 16.2 ignores If-None-Match there; the probe's
  // objects, hidden by its Delete, stay stored until their date like every other.
  Result<CreateProtocol> protocol = store->ProbeCreateProtocol();
  ASSERT_TRUE(protocol.ok()) << protocol.status().ToString();
  EXPECT_EQ(*protocol, CreateProtocol::kListBased);
  Result<std::vector<ObjectInfo>> listed = store->List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

INSTANTIATE_TEST_SUITE_P(Modes, ObjectLockTest,
                         ::testing::Values(ObjectLockMode::kGovernance,
                                           ObjectLockMode::kCompliance),
                         [](const ::testing::TestParamInfo<ObjectLockMode>& info) {
                           return std::string(info.param == ObjectLockMode::kGovernance
                                                  ? "Governance"
                                                  : "Compliance");
                         });

// The error a write with object_lock set gets from a bucket created without Object Lock.
void ExpectObjectLockRefused(const Status& status, const std::string& bucket,
                             std::chrono::steady_clock::duration took) {
  ASSERT_FALSE(status.ok());
  const std::string text = status.ToString();
  EXPECT_NE(status.message().find("bucket " + bucket + " does not accept Object Lock"),
            std::string::npos)
      << text;
  EXPECT_NE(status.hint().find("object_lock = \"\""), std::string::npos) << text;
  EXPECT_NE(status.hint().find("created with Object Lock"), std::string::npos) << text;
  // Final at once: one attempt, not retried for the 20 s of the test's retry budget.
  EXPECT_EQ(text.find("attempts"), std::string::npos) << text;
  EXPECT_LT(took, std::chrono::seconds(15)) << text;
}

TEST(ObjectLockRefusedTest, ABucketWithoutObjectLockRefusesLockedWritesSayingWhy) {
  LOCK_STORE_OR_SKIP(store, false, ObjectLockMode::kCompliance);
  const std::string bucket = store->client().config().bucket;

  auto start = std::chrono::steady_clock::now();
  StringSource small("manifest");
  Result<ObjectInfo> put = store->Put("sets/c/manifest.toml", small);
  ExpectObjectLockRefused(put.status(), bucket, std::chrono::steady_clock::now() - start);

  start = std::chrono::steady_clock::now();
  GeneratedSource large(12'000'000);
  Result<ObjectInfo> multipart = store->Put("sets/c/half.tar.zst", large);
  ExpectObjectLockRefused(multipart.status(), bucket, std::chrono::steady_clock::now() - start);

  Result<std::vector<ObjectInfo>> listed = store->List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  Result<std::vector<S3PendingUpload>> pending =
      ListMultipartUploads(store->client(), store->client().config().prefix);
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

TEST(ObjectLockRefusedTest, AnExistingPlainBucketDoesNotBecomeALockBucket) {
  LOCK_STORE_OR_SKIP(store, false, ObjectLockMode::kGovernance);
  // The bucket exists already (ours): creating it again with Object Lock changes nothing, and
  // says so.
  Status created = store->CreateBucket(S3Store::BucketKind::kObjectLock);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.message().find("bucket " + store->client().config().bucket +
                                   " exists without Object Lock"),
            std::string::npos)
      << created.ToString();
  EXPECT_NE(created.hint().find("object_lock = \"\""), std::string::npos) << created.ToString();
  Result<bool> enabled = store->BucketHasObjectLock();
  ASSERT_TRUE(enabled.ok()) << enabled.status().ToString();
  EXPECT_FALSE(*enabled);
  StringSource small("manifest");
  Result<ObjectInfo> put = store->Put("sets/d/manifest.toml", small);
  ExpectObjectLockRefused(put.status(), store->client().config().bucket,
                          std::chrono::seconds(0));
}

TEST(ObjectLockRefusedTest, AskingAMissingBucketIsAnError) {
  std::string skip_reason;
  const RgwEndpoint* rgw = SharedRgw(&skip_reason);
  if (rgw == nullptr) GTEST_SKIP() << skip_reason;
  const std::string bucket = "gbnone-" + RandomHex(6);
  Result<std::unique_ptr<S3Store>> store = S3Store::Open(
      TestS3Config(*rgw, bucket), S3Credentials{rgw->access_key, rgw->secret_key, ""});
  ASSERT_TRUE(store.ok());
  Result<bool> enabled = (*store)->BucketHasObjectLock();
  ASSERT_FALSE(enabled.ok());
  EXPECT_NE(enabled.status().message().find("NoSuchBucket"), std::string::npos)
      << enabled.status().ToString();
  EXPECT_NE(enabled.status().message().find(bucket), std::string::npos);
}

}  // namespace
}  // namespace testing
}  // namespace gb
