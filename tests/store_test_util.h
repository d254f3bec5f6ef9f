// Helpers shared by the store tests: in-memory streams with a deterministic pseudo-random
// content, a source that fails midway, and S3 stores on fresh buckets of the shared RGW.
#pragma once

#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "io/text.h"
#include "store/s3_store.h"
#include "tests/support/ceph_cluster.h"
#include "tests/support/memory_streams.h"

namespace gb {
namespace testing {

// `size` bytes that differ from one call's `seed` to another (xorshift; compresses badly).
inline std::string PseudoRandomBytes(size_t size, uint64_t seed) {
  std::string bytes(size, '\0');
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; i += 8) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::memcpy(&bytes[i], &state, std::min<size_t>(8, size - i));
  }
  return bytes;
}

// Streams `total` pseudo-random bytes without holding them, then fails if `fail` is set.
class GeneratedSource : public ByteSource {
 public:
  GeneratedSource(uint64_t total, bool fail_at_end = false)
      : total_(total), fail_at_end_(fail_at_end), block_(PseudoRandomBytes(1 << 20, 7)) {}
  Result<size_t> Read(void* buffer, size_t capacity) override {
    if (offset_ == total_) {
      if (fail_at_end_) return Status::Failed("the test source failed on purpose");
      return size_t{0};
    }
    const size_t in_block = offset_ % block_.size();
    const size_t n = std::min<uint64_t>({capacity, block_.size() - in_block, total_ - offset_});
    std::memcpy(buffer, block_.data() + in_block, n);
    offset_ += n;
    return n;
  }

 private:
  uint64_t total_;
  bool fail_at_end_;
  std::string block_;
  uint64_t offset_ = 0;
};

// A config for the shared RGW with short retry budgets: a test must not wait 15 minutes.
inline S3Config TestS3Config(const RgwEndpoint& rgw, const std::string& bucket) {
  S3Config config;
  config.endpoint = rgw.endpoint;
  config.bucket = bucket;
  config.prefix = "repo/";
  config.part_size = kS3MinPartSize;
  config.upload_concurrency = 3;
  config.retry_max_time = std::chrono::seconds(20);
  config.retry_initial_delay = std::chrono::milliseconds(20);
  config.retry_max_delay = std::chrono::milliseconds(500);
  config.stall_timeout = std::chrono::seconds(10);
  return config;
}

// An S3 store on a new bucket; nullptr (with `skip_reason`) when RGW is unavailable here.
inline std::unique_ptr<S3Store> FreshBucketStore(std::string* skip_reason,
                                                 void (*tweak)(S3Config&) = nullptr) {
  const RgwEndpoint* rgw = SharedRgw(skip_reason);
  if (rgw == nullptr) return nullptr;
  S3Config config = TestS3Config(*rgw, "gbtest-" + RandomHex(6));
  if (tweak != nullptr) tweak(config);
  Result<std::unique_ptr<S3Store>> store =
      S3Store::Open(config, S3Credentials{rgw->access_key, rgw->secret_key, ""});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  Status created = (*store)->CreateBucket();
  EXPECT_TRUE(created.ok()) << created.ToString();
  return std::move(store).value();
}

}  // namespace testing
}  // namespace gb
