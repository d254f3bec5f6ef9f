// S3Store through a fault-injecting proxy on loopback: 503 SlowDown, resets, stalls and
// responses cut short are retried (from the in-memory part, or resuming a GET where it
// stopped) within the retry budget; past the budget an upload fails cleanly and the
// unfinished upload it could not abort stays listed for a later audit.

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "io/sha256.h"
#include "tests/store_test_util.h"
#include "tests/support/fault_proxy.h"

namespace gb {
namespace testing {
namespace {

class S3FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip_reason;
    direct_ = FreshBucketStore(&skip_reason);
    if (direct_ == nullptr && !skip_reason.empty()) GTEST_SKIP() << skip_reason;
    ASSERT_NE(direct_, nullptr);
  }

  // A store on the same bucket whose requests go through a proxy following `plan`.
  std::unique_ptr<S3Store> Proxied(FaultProxy::Plan plan, std::chrono::milliseconds budget) {
    Result<std::unique_ptr<FaultProxy>> proxy =
        FaultProxy::Start(direct_->client().config().endpoint, std::move(plan));
    EXPECT_TRUE(proxy.ok()) << proxy.status().ToString();
    proxy_ = std::move(proxy).value();
    S3Config config = direct_->client().config();
    config.endpoint = proxy_->endpoint();
    config.retry_max_time = budget;
    config.stall_timeout = std::chrono::seconds(1);
    config.upload_concurrency = 2;
    std::string skip_reason;
    const RgwEndpoint* rgw = SharedRgw(&skip_reason);
    Result<std::unique_ptr<S3Store>> store =
        S3Store::Open(config, S3Credentials{rgw->access_key, rgw->secret_key, ""});
    EXPECT_TRUE(store.ok());
    return std::move(store).value();
  }

  std::unique_ptr<S3Store> direct_;
  std::unique_ptr<FaultProxy> proxy_;
};

bool IsPartUpload(const std::string& request_line) {
  return request_line.rfind("PUT ", 0) == 0 && request_line.find("partNumber=") != std::string::npos;
}

TEST_F(S3FaultTest, AnUploadSurvivesSlowDownsAndResets) {
  std::atomic<int> parts_seen{0};
  std::unique_ptr<S3Store> store = Proxied(
      [&](int number, const std::string& line) {
        if (!IsPartUpload(line)) return number == 1 ? Fault::kSlowDown : Fault::kNone;
        // The first two attempts at part uploads fail, one each way; so does the fifth.
        switch (++parts_seen) {
          case 1: return Fault::kSlowDown;
          case 2: return Fault::kReset;
          case 5: return Fault::kSlowDown;
          default: return Fault::kNone;
        }
      },
      std::chrono::seconds(30));
  const uint64_t size = 3 * kS3MinPartSize + 1000;
  GeneratedSource source(size);
  Result<ObjectInfo> put = store->Put("data/set/half", source);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->etag.substr(put->etag.find('-')), "-4");
  EXPECT_GE(parts_seen.load(), 7);  // 4 parts + 3 failed attempts

  Result<HeadResult> head = direct_->Head("data/set/half");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->info.size, size);
  EXPECT_EQ(head->info.etag, put->etag);
}

TEST_F(S3FaultTest, AGetResumesAfterAStallAndACutResponse) {
  const std::string bytes = PseudoRandomBytes(1 << 20, 9);
  StringSource source(bytes);
  ASSERT_TRUE(direct_->Put("data/frames", source).ok());
  std::unique_ptr<S3Store> store = Proxied(
      [](int number, const std::string&) {
        if (number == 1) return Fault::kStall;
        if (number == 2) return Fault::kCutResponse;
        return Fault::kNone;
      },
      std::chrono::seconds(30));
  StringSink sink;
  Status got = store->Get("data/frames", 1000, bytes.size() - 2000, sink);
  ASSERT_TRUE(got.ok()) << got.ToString();
  EXPECT_TRUE(sink.bytes() == bytes.substr(1000, bytes.size() - 2000));
  EXPECT_EQ(proxy_->requests(), 3);
}

TEST_F(S3FaultTest, PastTheBudgetAnUploadFailsCleanlyAndItsLeftoverIsListed) {
  // Everything after the upload's start fails, the abort included: what a network outage
  // in the middle of a backup looks like.
  std::unique_ptr<S3Store> store = Proxied(
      [](int number, const std::string&) { return number == 1 ? Fault::kNone : Fault::kSlowDown; },
      std::chrono::milliseconds(300));
  GeneratedSource source(2 * kS3MinPartSize + 1);
  Result<ObjectInfo> put = store->Put("data/set/outage", source);
  ASSERT_FALSE(put.ok());
  const Status& error = put.status();
  EXPECT_NE(error.message().find("SlowDown"), std::string::npos) << error.ToString();
  EXPECT_NE(error.message().find("attempts"), std::string::npos) << error.ToString();
  EXPECT_NE(error.hint().find("could not be aborted"), std::string::npos) << error.ToString();

  Result<std::vector<PendingWrite>> pending = direct_->ListPendingWrites("data/");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].key, "data/set/outage");
  ASSERT_TRUE(direct_->AbortPendingWrite((*pending)[0]).ok());
  Result<std::vector<ObjectInfo>> objects = direct_->List("");
  ASSERT_TRUE(objects.ok());
  EXPECT_TRUE(objects->empty());
}

}  // namespace
}  // namespace testing
}  // namespace gb
