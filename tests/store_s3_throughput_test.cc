// Throughput of S3Store against the throwaway RGW on loopback: a 256 MB streamed upload
// (16 MiB parts, 4 in flight) and ranged downloads of it, with the upload's peak RSS.
// Figures are printed, not asserted (a shared 2-core machine); the test checks only that the
// bytes came back and that the upload's memory stayed near its bound.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/store_test_util.h"

namespace gb {
namespace testing {
namespace {

class CountingSink : public ByteSink {
 public:
  Status Write(const void* data, size_t size) override {
    bytes_ += size;
    return Status::Ok();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

// Peak resident set size since the last ResetPeakRss(), in MiB (Linux: VmHWM).
long PeakRssMiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

TEST(S3ThroughputTest, UploadAndRangedDownloadOf256MB) {
  std::string skip_reason;
  std::unique_ptr<S3Store> store = FreshBucketStore(&skip_reason, [](S3Config& config) {
    config.part_size = 16u << 20;
    config.upload_concurrency = 4;
  });
  if (store == nullptr && !skip_reason.empty()) GTEST_SKIP() << skip_reason;
  ASSERT_NE(store, nullptr);
  const uint64_t size = 256ull << 20;
  const S3Config& config = store->client().config();

  ResetPeakRss();
  const long rss_before = PeakRssMiB();
  GeneratedSource source(size);
  auto start = std::chrono::steady_clock::now();
  Result<ObjectInfo> put = store->Put("data/big.bin", source);
  const double upload_seconds = Seconds(start);
  const long rss_peak = PeakRssMiB();
  ASSERT_TRUE(put.ok()) << put.status().ToString();

  // Ranged reads of one part each, 4 at a time, as a restore reads frames.
  const uint64_t range = config.part_size;
  std::vector<std::thread> readers;
  std::vector<uint64_t> received(4, 0);
  std::vector<Status> outcomes(4);
  start = std::chrono::steady_clock::now();
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      CountingSink sink;
      for (uint64_t offset = r * range; offset < size; offset += 4 * range) {
        Status got = store->Get("data/big.bin", offset, std::min(range, size - offset), sink);
        if (!got.ok()) {
          outcomes[r] = got;
          return;
        }
      }
      received[r] = sink.bytes();
    });
  }
  for (std::thread& reader : readers) reader.join();
  const double download_seconds = Seconds(start);
  for (const Status& outcome : outcomes) ASSERT_TRUE(outcome.ok()) << outcome.ToString();
  EXPECT_EQ(received[0] + received[1] + received[2] + received[3], size);

  const double mib = static_cast<double>(size) / (1 << 20);
  std::printf("S3 upload 256 MiB (16 MiB parts, 4 in flight): %.2f s, %.0f MiB/s, peak RSS "
              "%ld MiB (%ld MiB before; bound part_size * (concurrency + 1) = %zu MiB)\n",
              upload_seconds, mib / upload_seconds, rss_peak, rss_before,
              (config.part_size >> 20) * (config.upload_concurrency + 1));
  std::printf("S3 ranged download 256 MiB (16 MiB ranges, 4 readers): %.2f s, %.0f MiB/s\n",
              download_seconds, mib / download_seconds);
  // The memory bound, with room for the process and the test's own buffers.
  EXPECT_LT(rss_peak - rss_before,
            static_cast<long>((config.part_size >> 20) * (config.upload_concurrency + 1)) + 48);
  ASSERT_TRUE(store->Delete("data/big.bin").ok());
}

}  // namespace
}  // namespace testing
}  // namespace gb
