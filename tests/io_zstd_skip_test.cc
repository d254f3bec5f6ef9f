// ZstdReader::SkipToEnd: the rest of the compressed bytes read and hashed, not decompressed
// (what lets `ls` and `extract` stop decompressing an index once past the paths they want and
// still check its digest): the digest is the whole stream's, a damaged tail goes unnoticed
// by zstd but not by the digest, and Read says the end afterwards.
#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "io/byte_stream.h"
#include "io/sha256.h"
#include "io/zstd_file.h"

namespace gb {
namespace {

// Bytes zstd cannot shrink: the compressed stream is about as long, so a damaged offset in
// it is far from the first blocks.
std::string RandomBytes(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(random());
  return bytes;
}

std::string Compress(const std::string& data) {
  StringSink sink;
  ZstdWriterOptions options;
  options.threads = 1;
  options.header_frame = "identity = \"x\"\n";
  auto writer = ZstdWriter::Create(sink, "mem://index", options);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) return {};
  EXPECT_TRUE((*writer)->Write(data.data(), data.size()).ok());
  EXPECT_TRUE((*writer)->Finish().ok());
  return sink.bytes();
}

std::unique_ptr<ZstdReader> Open(const std::string& compressed, size_t piece) {
  auto reader = ZstdReader::Open(std::make_unique<StringSource>(compressed, piece), "mem://index");
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return reader.ok() ? std::move(reader).value() : nullptr;
}

TEST(ZstdSkip, TheDigestIsTheWholeStreamsWhereverTheReadingStopped) {
  const std::string data = RandomBytes(3 << 20, 1);
  const std::string compressed = Compress(data);
  const std::string whole = Sha256::OfString(compressed);
  for (size_t read_first : {size_t{0}, size_t{1}, size_t{100000}, data.size()}) {
    SCOPED_TRACE(read_first);
    std::unique_ptr<ZstdReader> reader = Open(compressed, 65536);
    ASSERT_TRUE(reader);
    std::string out(4096, '\0');
    size_t read = 0;
    while (read < read_first) {
      Result<size_t> got = reader->Read(out.data(), std::min(out.size(), read_first - read));
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_GT(*got, 0u);
      read += *got;
    }
    EXPECT_EQ(reader->sha256_hex(), "");  // not before the end was seen
    ASSERT_TRUE(reader->SkipToEnd().ok());
    EXPECT_EQ(reader->sha256_hex(), whole);
    EXPECT_EQ(reader->compressed_bytes(), compressed.size());
    Result<size_t> after = reader->Read(out.data(), out.size());
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(*after, 0u);
    EXPECT_TRUE(reader->SkipToEnd().ok());  // again: nothing more
    EXPECT_EQ(reader->sha256_hex(), whole);
  }
}

TEST(ZstdSkip, ADamagedTailIsNotDecompressedButChangesTheDigest) {
  const std::string data = RandomBytes(4 << 20, 2);
  const std::string compressed = Compress(data);
  std::string damaged = compressed;
  for (size_t at = damaged.size() - 4096; at < damaged.size(); ++at) damaged[at] ^= 0x5a;

  // Read through, the damage is a zstd error.
  {
    std::unique_ptr<ZstdReader> reader = Open(damaged, 1 << 20);
    ASSERT_TRUE(reader);
    std::string out(1 << 16, '\0');
    Status failure;
    for (;;) {
      Result<size_t> got = reader->Read(out.data(), out.size());
      if (!got.ok()) {
        failure = got.status();
        break;
      }
      ASSERT_GT(*got, 0u) << "the damaged stream read to its end";
    }
    EXPECT_NE(failure.message().find("mem://index"), std::string::npos) << failure.ToString();
  }
  // Skipped, it is not decompressed: no error, and the digest tells it from the original.
  std::unique_ptr<ZstdReader> reader = Open(damaged, 1 << 20);
  ASSERT_TRUE(reader);
  std::string out(4096, '\0');
  Result<size_t> got = reader->Read(out.data(), out.size());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(out.substr(0, *got), data.substr(0, *got));
  Status skipped = reader->SkipToEnd();
  ASSERT_TRUE(skipped.ok()) << skipped.ToString();
  EXPECT_EQ(reader->sha256_hex(), Sha256::OfString(damaged));
  EXPECT_NE(reader->sha256_hex(), Sha256::OfString(compressed));
}

// A source that fails after some bytes: SkipToEnd returns its error, and keeps returning it.
class FailingSource : public ByteSource {
 public:
  FailingSource(std::string bytes, size_t fail_at) : bytes_(std::move(bytes)), fail_at_(fail_at) {}
  Result<size_t> Read(void* buffer, size_t capacity) override {
    if (at_ >= fail_at_) return Status::Failed("disk on fire");
    const size_t n = std::min({capacity, fail_at_ - at_, bytes_.size() - at_});
    std::memcpy(buffer, bytes_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t fail_at_;
  size_t at_ = 0;
};

TEST(ZstdSkip, AReadErrorWhileSkippingIsAnError) {
  const std::string compressed = Compress(RandomBytes(3 << 20, 3));
  auto reader = ZstdReader::Open(std::make_unique<FailingSource>(compressed, 2 << 20), "mem://x");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::string out(4096, '\0');
  ASSERT_TRUE((*reader)->Read(out.data(), out.size()).ok());
  Status skipped = (*reader)->SkipToEnd();
  ASSERT_FALSE(skipped.ok());
  EXPECT_NE(skipped.message().find("disk on fire"), std::string::npos) << skipped.ToString();
  EXPECT_FALSE((*reader)->SkipToEnd().ok());
  EXPECT_EQ((*reader)->sha256_hex(), "");
}

}  // namespace
}  // namespace gb
