// The Store contract, run on both implementations: a local directory and an S3 bucket on a
// throwaway Ceph RGW. Whatever a command does through a Store must behave the same on both.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/env.h"
#include "io/files.h"
#include "store/local_store.h"
#include "tests/store_test_util.h"

namespace gb {
namespace testing {
namespace {

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "local") {
      Result<std::string> dir = MakeTempDir("/tmp", "gb-store-test.");
      ASSERT_TRUE(dir.ok()) << dir.status().ToString();
      dir_ = *dir;
      store_ = std::make_unique<LocalStore>(dir_);
      return;
    }
    std::string skip_reason;
    // Two keys per listing page, so that every listing below crosses pages.
    store_ = FreshBucketStore(&skip_reason, [](S3Config& config) { config.list_page_size = 2; });
    if (store_ == nullptr && !skip_reason.empty()) GTEST_SKIP() << skip_reason;
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    if (!dir_.empty()) {
      EXPECT_TRUE(Env::Default()->RemoveAll(dir_).ok());
    }
  }

  void PutString(const std::string& key, const std::string& bytes) {
    StringSource source(bytes);
    Result<ObjectInfo> put = store_->Put(key, source);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->key, key);
    EXPECT_EQ(put->size, bytes.size());
  }
  std::string GetString(const std::string& key, uint64_t offset = 0,
                        uint64_t length = Store::kToEnd) {
    StringSink sink;
    Status got = store_->Get(key, offset, length, sink);
    EXPECT_TRUE(got.ok()) << got.ToString();
    return sink.bytes();
  }
  std::vector<std::string> ListKeys(const std::string& prefix) {
    Result<std::vector<ObjectInfo>> listed = store_->List(prefix);
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    std::vector<std::string> keys;
    if (listed.ok()) {
      for (const ObjectInfo& info : *listed) keys.push_back(info.key);
    }
    return keys;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContractTest, PutThenGetReturnsTheSameBytes) {
  const std::string small = "manifest v2\n";
  const std::string larger = PseudoRandomBytes(3 << 20, 1);
  PutString("manifests/a.toml", small);
  PutString("data/a/half.bin", larger);
  PutString("empty", "");
  EXPECT_EQ(GetString("manifests/a.toml"), small);
  EXPECT_TRUE(GetString("data/a/half.bin") == larger);
  EXPECT_EQ(GetString("empty"), "");
}

TEST_P(StoreContractTest, PutReplacesAnExistingObject) {
  PutString("locks/x.json", "first");
  PutString("locks/x.json", "second, longer");
  EXPECT_EQ(GetString("locks/x.json"), "second, longer");
}

TEST_P(StoreContractTest, GetReadsAByteRange) {
  const std::string bytes = PseudoRandomBytes(1 << 20, 2);
  PutString("data/range.bin", bytes);
  EXPECT_TRUE(GetString("data/range.bin", 1000, 5000) == bytes.substr(1000, 5000));
  EXPECT_TRUE(GetString("data/range.bin", 700000) == bytes.substr(700000));
  EXPECT_EQ(GetString("data/range.bin", bytes.size()), "");
  EXPECT_EQ(GetString("data/range.bin", bytes.size() - 1, 1), bytes.substr(bytes.size() - 1));
}

TEST_P(StoreContractTest, RangePastTheEndIsAnErrorNamingTheKey) {
  PutString("data/short.bin", "0123456789");
  StringSink sink;
  Status past = store_->Get("data/short.bin", 5, 10, sink);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.message().find("data/short.bin"), std::string::npos) << past.ToString();
  EXPECT_NE(past.message().find("past the end"), std::string::npos) << past.ToString();
  Status beyond = store_->Get("data/short.bin", 11, Store::kToEnd, sink);
  EXPECT_FALSE(beyond.ok());
}

TEST_P(StoreContractTest, GetOfAMissingKeyFailsNamingIt) {
  StringSink sink;
  for (const uint64_t length : {Store::kToEnd, uint64_t{10}, uint64_t{0}}) {
    Status missing = store_->Get("manifests/none.toml", 0, length, sink);
    ASSERT_FALSE(missing.ok()) << length;
    EXPECT_NE(missing.message().find("manifests/none.toml"), std::string::npos)
        << missing.ToString();
  }
}

TEST_P(StoreContractTest, ListReturnsEveryKeyUnderAPrefixAcrossPages) {
  std::vector<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    const std::string key = "manifests/set-" + std::to_string(i) + ".toml";
    PutString(key, "m" + std::to_string(i));
    expected.push_back(key);
  }
  PutString("manifestsX/other", "not under the prefix");
  PutString("data/set-0/half", "data");
  PutString("data/set-1/half", "data");
  EXPECT_EQ(ListKeys("manifests/"), expected);
  EXPECT_EQ(ListKeys("data/set-1"), std::vector<std::string>{"data/set-1/half"});
  EXPECT_EQ(ListKeys("nothing/"), std::vector<std::string>{});
  EXPECT_EQ(ListKeys("").size(), 10u);
  Result<std::vector<ObjectInfo>> listed = store_->List("manifests/set-3");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, 2u);
}

TEST_P(StoreContractTest, HeadGivesSizeAndEtagOrAbsence) {
  const std::string bytes = "twelve bytes";
  PutString("data/h", bytes);
  Result<HeadResult> head = store_->Head("data/h");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_TRUE(head->exists);
  EXPECT_EQ(head->info.size, bytes.size());
  if (GetParam() == "s3") {
    EXPECT_EQ(head->info.etag, Hex(Md5Binary(bytes)));
  }
  Result<HeadResult> absent = store_->Head("data/none");
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_FALSE(absent->exists);
}

TEST_P(StoreContractTest, DeleteRemovesAndIsIdempotent) {
  PutString("data/d", "x");
  ASSERT_TRUE(store_->Delete("data/d").ok());
  Result<HeadResult> head = store_->Head("data/d");
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->exists);
  EXPECT_TRUE(store_->Delete("data/d").ok());
  EXPECT_EQ(ListKeys("data/"), std::vector<std::string>{});
}

TEST_P(StoreContractTest, CreateIfAbsentRefusesTheSecondCreate) {
  Result<CreateOutcome> first = store_->CreateIfAbsent("locks/exclusive.json", "holder A");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, CreateOutcome::kCreated);
  Result<CreateOutcome> second = store_->CreateIfAbsent("locks/exclusive.json", "holder B");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*second, CreateOutcome::kAlreadyExists);
  EXPECT_EQ(GetString("locks/exclusive.json"), "holder A");
}

TEST_P(StoreContractTest, ProbeReportsConditionalCreateAndLeavesNothing) {
  Result<CreateProtocol> protocol = store_->ProbeCreateProtocol();
  ASSERT_TRUE(protocol.ok()) << protocol.status().ToString();
  EXPECT_EQ(*protocol, CreateProtocol::kConditionalCreate);
  EXPECT_EQ(ListKeys(""), std::vector<std::string>{});
}

TEST_P(StoreContractTest, AFailedPutLeavesNoObject) {
  GeneratedSource failing(7 << 20, /*fail_at_end=*/true);
  Result<ObjectInfo> put = store_->Put("data/broken.bin", failing);
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("failed on purpose"), std::string::npos)
      << put.status().ToString();
  EXPECT_EQ(ListKeys(""), std::vector<std::string>{});
}

TEST_P(StoreContractTest, InvalidKeysAreRefusedBeforeAnyRequest) {
  StringSource source("x");
  for (const std::string key : {"", "/abs", "a//b", "a/../b", "dir/", "a+b", "sp ace"}) {
    Result<ObjectInfo> put = store_->Put(key, source);
    ASSERT_FALSE(put.ok()) << key;
    EXPECT_EQ(put.status().code(), Code::kUsage) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(BothStores, StoreContractTest, ::testing::Values("local", "s3"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace testing
}  // namespace gb
