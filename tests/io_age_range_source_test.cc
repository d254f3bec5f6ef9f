// AgeRangeSource: ranged plaintext reads of an age file over ranged reads of the file: the
// same bytes as the plaintext for any range (chunk boundaries, the final chunk, empty ranges),
// from several threads at once; only the covering chunks fetched; the seekable zstd reader
// works through it; a wrong identity, a truncated file and a flipped byte are refused.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "io/age_range_source.h"
#include "io/age_stream.h"
#include "io/byte_stream.h"
#include "io/seekable_zstd_reader.h"
#include "io/seekable_zstd_writer.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::MakeTestData;

// An in-memory file that counts the bytes read from it.
class CountingSource : public RangeSource {
 public:
  explicit CountingSource(std::string bytes) : bytes_(std::move(bytes)) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return bytes_.size(); }
  Result<std::string> ReadRange(uint64_t offset, size_t length) override {
    if (offset + length > bytes_.size()) return Status::Failed("read past the end of memory");
    read_ += length;
    return bytes_.substr(offset, length);
  }
  std::atomic<uint64_t>& read() { return read_; }

 private:
  std::string name_ = "memory";
  std::string bytes_;
  std::atomic<uint64_t> read_{0};
};

std::string Encrypt(const std::string& plain, const AgeIdentity& identity,
                    std::optional<std::string> pair = std::nullopt) {
  AgeEncryptOptions options;
  options.recipients = {identity.Recipient()};
  options.pair_token = pair;
  Result<std::string> cipher = AgeEncryptString(plain, options);
  EXPECT_TRUE(cipher.ok()) << cipher.status().ToString();
  return cipher.ok() ? *cipher : std::string();
}

TEST(AgeRangeSourceTest, AnyRangeReadsThePlaintextAndFetchesOnlyItsChunks) {
  const AgeIdentity identity = AgeIdentity::Generate();
  const std::string plain = MakeTestData(5 * kAgeChunkSize + 1234, 7);
  auto file = std::make_unique<CountingSource>(Encrypt(plain, identity));
  CountingSource* counted = file.get();
  auto source = AgeRangeSource::Open(std::move(file), {identity});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ASSERT_EQ((*source)->size(), plain.size());

  const uint64_t chunk = kAgeChunkSize;
  const std::vector<std::pair<uint64_t, size_t>> ranges = {
      {0, 0},           {0, 1},           {0, plain.size()},  {chunk - 1, 2},
      {chunk, chunk},   {3 * chunk + 5, 100}, {plain.size() - 1, 1}, {5 * chunk, 1234},
      {plain.size(), 0}};
  for (const auto& [offset, length] : ranges) {
    Result<std::string> got = (*source)->ReadRange(offset, length);
    ASSERT_TRUE(got.ok()) << offset << "+" << length << ": " << got.status().ToString();
    EXPECT_EQ(*got, plain.substr(offset, length)) << offset << "+" << length;
  }
  EXPECT_FALSE((*source)->ReadRange(plain.size(), 1).ok());

  // One byte in the middle: one sealed chunk fetched, not the file.
  counted->read() = 0;
  ASSERT_TRUE((*source)->ReadRange(2 * chunk + 10, 1).ok());
  EXPECT_EQ(counted->read().load(), chunk + 16);
}

TEST(AgeRangeSourceTest, ReadsFromSeveralThreadsAtOnce) {
  const AgeIdentity identity = AgeIdentity::Generate();
  const std::string plain = MakeTestData(40 * kAgeChunkSize + 99, 3);
  auto source = AgeRangeSource::Open(std::make_unique<CountingSource>(Encrypt(plain, identity)),
                                     {identity});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 random(t);
      for (int i = 0; i < 200; ++i) {
        const uint64_t offset = random() % plain.size();
        const size_t length = random() % std::min<uint64_t>(plain.size() - offset, 200000);
        Result<std::string> got = (*source)->ReadRange(offset, length);
        if (!got.ok() || *got != plain.substr(offset, length)) ++wrong;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(AgeRangeSourceTest, TheSeekableReaderWorksOnThePlaintext) {
  const AgeIdentity identity = AgeIdentity::Generate();
  const std::string content = MakeTestData(3 << 20, 11);
  StringSink zstd_file;
  SeekableZstdOptions options;
  options.frame_input_size = 256 << 10;
  options.identity_frame = "who I am";
  auto writer = SeekableZstdWriter::Create(zstd_file, "memory", options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(content.data(), content.size()).ok());
  ASSERT_TRUE((*writer)->Finish().ok());

  auto plain = AgeRangeSource::Open(
      std::make_unique<CountingSource>(Encrypt(zstd_file.bytes(), identity)), {identity});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  auto reader = SeekableZstdReader::Open(std::move(plain).value());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(*(*reader)->ReadIdentityFrame(), "who I am");
  StringSink middle;
  ASSERT_TRUE((*reader)->DecompressRange(1000000, 1300000, middle).ok());
  EXPECT_EQ(middle.bytes(), content.substr(1000000, 300000));
}

TEST(AgeRangeSourceTest, WrongIdentityTruncationAndAFlippedByteAreRefused) {
  const AgeIdentity identity = AgeIdentity::Generate();
  const std::string plain = MakeTestData(4 * kAgeChunkSize + 10, 5);
  const std::string cipher = Encrypt(plain, identity, "pair");

  AgeFailure failure = AgeFailure::kNone;
  auto wrong = AgeRangeSource::Open(std::make_unique<CountingSource>(cipher),
                                    {AgeIdentity::Generate()}, &failure);
  EXPECT_FALSE(wrong.ok());
  EXPECT_EQ(failure, AgeFailure::kNoMatch);

  // Cut at a chunk boundary: what is left looks whole, but its last chunk is not final.
  const size_t header = cipher.size() - (4 * (kAgeChunkSize + 16) + 10 + 16);
  auto cut = AgeRangeSource::Open(
      std::make_unique<CountingSource>(cipher.substr(0, header + 2 * (kAgeChunkSize + 16))),
      {identity});
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_FALSE((*cut)->ReadRange(kAgeChunkSize + 5, 10).ok());

  std::string flipped = cipher;
  flipped[header + kAgeChunkSize + 100] ^= 0x20;
  auto damaged = AgeRangeSource::Open(std::make_unique<CountingSource>(flipped), {identity});
  ASSERT_TRUE(damaged.ok());
  EXPECT_TRUE((*damaged)->ReadRange(0, 100).ok());
  Result<std::string> bad = (*damaged)->ReadRange(kAgeChunkSize + 50, 100);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("does not authenticate"), std::string::npos);

  // The pair stanza reads without any identity.
  CountingSource header_only(cipher);
  Result<AgeHeader> parsed = ReadAgeHeaderAt(header_only);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(AgePairToken(*parsed), std::optional<std::string>("pair"));
}

}  // namespace
}  // namespace gb
