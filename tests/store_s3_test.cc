// S3-specific behaviour of S3Store against a throwaway Ceph RGW: multipart uploads and their
// ETag check, unfinished uploads (listed until aborted), a failed upload aborted, errors that
// say what is wrong without leaking the secret, and the create-if-absent probe on a
// versioned bucket.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "io/sha256.h"
#include "store/s3_multipart.h"
#include "tests/store_test_util.h"

namespace gb {
namespace testing {
namespace {

std::string Sha256Of(uint64_t size) {
  GeneratedSource source(size);
  HashingSink sink;
  EXPECT_TRUE(CopyStream(source, sink).ok());
  return sink.HexDigest();
}

#define S3_STORE_OR_SKIP(store, ...)                                \
  std::string skip_reason;                                          \
  std::unique_ptr<S3Store> store = FreshBucketStore(&skip_reason, ##__VA_ARGS__); \
  if (store == nullptr && !skip_reason.empty()) GTEST_SKIP() << skip_reason; \
  ASSERT_NE(store, nullptr)

TEST(S3StoreTest, MultipartUploadOfFiftyMegabytesRoundTrips) {
  S3_STORE_OR_SKIP(store);
  const uint64_t size = 50'000'000 + 123;  // 10 parts of 5 MiB and a short last one
  GeneratedSource source(size);
  Result<ObjectInfo> put = store->Put("data/set-1/datadir.tar.zst", source);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->size, size);
  const size_t parts = (size + kS3MinPartSize - 1) / kS3MinPartSize;
  EXPECT_EQ(put->etag.substr(put->etag.find('-')), "-" + std::to_string(parts)) << put->etag;

  Result<HeadResult> head = store->Head("data/set-1/datadir.tar.zst");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->info.size, size);
  EXPECT_EQ(head->info.etag, put->etag);

  HashingSink whole;
  ASSERT_TRUE(store->Get("data/set-1/datadir.tar.zst", 0, Store::kToEnd, whole).ok());
  EXPECT_EQ(whole.bytes(), size);
  EXPECT_EQ(whole.HexDigest(), Sha256Of(size));

  // A range across the boundary of parts 1 and 2.
  StringSink across;
  ASSERT_TRUE(store->Get("data/set-1/datadir.tar.zst", kS3MinPartSize - 10, 20, across).ok());
  GeneratedSource again(size);
  std::string expected(kS3MinPartSize + 10, '\0');
  size_t filled = 0;
  while (filled < expected.size()) {
    Result<size_t> n = again.Read(&expected[filled], expected.size() - filled);
    ASSERT_TRUE(n.ok());
    filled += *n;
  }
  EXPECT_TRUE(across.bytes() == expected.substr(kS3MinPartSize - 10, 20));
}

TEST(S3StoreTest, AnUnfinishedUploadIsListedUntilAborted) {
  S3_STORE_OR_SKIP(store);
  // What a process killed mid-upload leaves behind: an upload with a part, never completed.
  Result<MultipartUpload> upload =
      MultipartUpload::Start(store->client(), "repo/data/set-2/govern.dump.zst");
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  ASSERT_TRUE(upload->UploadPart(1, PseudoRandomBytes(kS3MinPartSize, 3)).ok());

  Result<std::vector<ObjectInfo>> objects = store->List("");
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  EXPECT_TRUE(objects->empty());
  Result<std::vector<PendingWrite>> pending = store->ListPendingWrites("data/");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].key, "data/set-2/govern.dump.zst");
  EXPECT_EQ((*pending)[0].upload_id, upload->upload_id());
  EXPECT_FALSE((*pending)[0].initiated.empty());

  ASSERT_TRUE(store->AbortPendingWrite((*pending)[0]).ok());
  pending = store->ListPendingWrites("");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_TRUE(pending->empty());
  // Aborting twice is harmless.
  EXPECT_TRUE(store->AbortPendingWrite({"data/set-2/govern.dump.zst", upload->upload_id(), ""}).ok());
}

TEST(S3StoreTest, AFailedMultipartUploadIsAborted) {
  S3_STORE_OR_SKIP(store);
  GeneratedSource failing(12 << 20, /*fail_at_end=*/true);  // fails after 2 parts were sent
  Result<ObjectInfo> put = store->Put("data/set-3/datadir.tar.zst", failing);
  ASSERT_FALSE(put.ok());
  Result<std::vector<PendingWrite>> pending = store->ListPendingWrites("");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_TRUE(pending->empty());
  Result<std::vector<ObjectInfo>> objects = store->List("");
  ASSERT_TRUE(objects.ok());
  EXPECT_TRUE(objects->empty());
}

TEST(S3StoreTest, AWrongSecretKeySaysSoWithoutTheSecret) {
  std::string skip_reason;
  const RgwEndpoint* rgw = SharedRgw(&skip_reason);
  if (rgw == nullptr) GTEST_SKIP() << skip_reason;
  std::unique_ptr<S3Store> good = FreshBucketStore(&skip_reason);
  ASSERT_NE(good, nullptr);
  const std::string wrong_secret = "Wr0ngSecretKeyWr0ngSecretKeyWr0ngSecret!";
  Result<std::unique_ptr<S3Store>> bad = S3Store::Open(
      good->client().config(), S3Credentials{rgw->access_key, wrong_secret, ""});
  ASSERT_TRUE(bad.ok());

  StringSource source("manifest");
  Result<ObjectInfo> put = (*bad)->Put("manifests/x.toml", source);
  ASSERT_FALSE(put.ok());
  const std::string text = put.status().ToString();
  EXPECT_NE(put.status().message().find("SignatureDoesNotMatch"), std::string::npos) << text;
  EXPECT_NE(put.status().message().find("manifests/x.toml"), std::string::npos) << text;
  EXPECT_NE(put.status().hint().find("secret key is wrong"), std::string::npos) << text;
  EXPECT_EQ(text.find(wrong_secret), std::string::npos) << text;
  EXPECT_EQ(text.find(rgw->secret_key), std::string::npos) << text;
  // A 403 is final: no retries.
  EXPECT_EQ(text.find("attempts"), std::string::npos) << text;

  Result<std::vector<ObjectInfo>> listed = (*bad)->List("");
  ASSERT_FALSE(listed.ok());
  EXPECT_NE(listed.status().hint().find("secret key is wrong"), std::string::npos);
}

TEST(S3StoreTest, AnHttpsEndpointIsTrustedThroughCaFileOnly) {
  S3_STORE_OR_SKIP(store);
  const RgwEndpoint* rgw = SharedRgw(&skip_reason);
  S3Config config = store->client().config();
  config.endpoint = rgw->tls_endpoint;
  const S3Credentials credentials{rgw->access_key, rgw->secret_key, ""};

  // Without the CA, the self-signed certificate is refused at once: no retries for a
  // failure that sending again cannot cure.
  Result<std::unique_ptr<S3Store>> untrusting = S3Store::Open(config, credentials);
  ASSERT_TRUE(untrusting.ok());
  StringSource refused_source("over tls");
  const auto start = std::chrono::steady_clock::now();
  Result<ObjectInfo> refused = (*untrusting)->Put("manifests/tls", refused_source);
  ASSERT_FALSE(refused.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, config.retry_max_time / 2);
  EXPECT_NE(refused.status().message().find("certificate"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().hint().find("ca_file"), std::string::npos);
  EXPECT_EQ(refused.status().message().find("attempts"), std::string::npos);

  config.ca_file = rgw->ca_file;
  Result<std::unique_ptr<S3Store>> trusting = S3Store::Open(config, credentials);
  ASSERT_TRUE(trusting.ok());
  StringSource source("over tls");
  Result<ObjectInfo> put = (*trusting)->Put("manifests/tls", source);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  StringSink sink;
  ASSERT_TRUE(store->Get("manifests/tls", 0, Store::kToEnd, sink).ok());
  EXPECT_EQ(sink.bytes(), "over tls");
}

TEST(S3StoreTest, AVersionedBucketNeedsTheListBasedProtocol) {
  S3_STORE_OR_SKIP(store);
  ASSERT_TRUE(store->EnableVersioning().ok());
  Result<CreateProtocol> protocol = store->ProbeCreateProtocol();
  ASSERT_TRUE(protocol.ok()) << protocol.status().ToString();
  EXPECT_EQ(*protocol, CreateProtocol::kListBased) << CreateProtocolName(*protocol);
}

TEST(S3StoreTest, ConcurrentCreatesHaveExactlyOneWinner) {
  S3_STORE_OR_SKIP(store);
  std::vector<std::thread> racers;
  std::atomic<int> created{0}, refused{0}, failed{0};
  for (int i = 0; i < 8; ++i) {
    racers.emplace_back([&, i] {
      Result<CreateOutcome> outcome =
          store->CreateIfAbsent("locks/exclusive.json", "holder " + std::to_string(i));
      if (!outcome.ok()) {
        ++failed;
      } else if (*outcome == CreateOutcome::kCreated) {
        ++created;
      } else {
        ++refused;
      }
    });
  }
  for (std::thread& racer : racers) racer.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(refused.load(), 7);
}

}  // namespace
}  // namespace testing
}  // namespace gb
