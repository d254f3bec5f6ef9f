#include <gtest/gtest.h>

#include <random>

#include "io/age_crypto.h"
#include "io/age_header.h"
#include "io/age_stream.h"
#include "io/files.h"
#include "io_age_test_util.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::DecryptReleased;
using testing::MakeTestData;
using testing::ScratchDir;
using testing::StringSink;

constexpr size_t kSealed = kAgeChunkSize + age::kTagSize;

struct Encrypted {
  std::string file;
  uint64_t plaintext_bytes = 0;
  uint64_t ciphertext_bytes = 0;
};

Encrypted Encrypt(const std::string& data, const AgeEncryptOptions& options, size_t piece) {
  StringSink sink;
  auto encryptor = AgeEncryptingSink::Create(&sink, options);
  EXPECT_TRUE(encryptor.ok()) << encryptor.status().ToString();
  if (!encryptor.ok()) return {};
  for (size_t offset = 0; offset < data.size(); offset += piece) {
    EXPECT_TRUE(
        (*encryptor)->Write(data.data() + offset, std::min(piece, data.size() - offset)).ok());
  }
  EXPECT_TRUE((*encryptor)->Finish().ok());
  return {sink.bytes(), (*encryptor)->plaintext_bytes(), (*encryptor)->ciphertext_bytes()};
}

size_t HeaderSize(const std::string& file) {
  auto header = ParseAgeHeader(file);
  EXPECT_TRUE(header.ok() && header->has_value());
  return header.ok() && header->has_value() ? (*header)->size : 0;
}

class AgeStreamTest : public ::testing::Test {
 protected:
  AgeIdentity alice_ = AgeIdentity::Generate();
  AgeIdentity bob_ = AgeIdentity::Generate();
  AgeEncryptOptions ToBoth() const {
    AgeEncryptOptions options;
    options.recipients = {alice_.Recipient(), bob_.Recipient()};
    return options;
  }
};

TEST_F(AgeStreamTest, RoundTripAtChunkBoundariesForEveryRecipient) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{65537},
                      size_t{131072}, size_t{200000}}) {
    // Small writes go through the chunk buffer; large ones are sealed in place.
    for (size_t piece : {size_t{7000}, size_t{1 << 20}}) {
      SCOPED_TRACE("size " + std::to_string(size) + ", writes of " + std::to_string(piece));
      const std::string data = MakeTestData(size, static_cast<unsigned>(size));
      Encrypted encrypted = Encrypt(data, ToBoth(), piece);
      EXPECT_EQ(encrypted.plaintext_bytes, size);
      EXPECT_EQ(encrypted.ciphertext_bytes, encrypted.file.size());
      // One 16-byte tag per chunk, at least one chunk; a full final chunk is never followed
      // by an empty one (as age writes it).
      const size_t chunks = std::max<size_t>(1, (size + kAgeChunkSize - 1) / kAgeChunkSize);
      EXPECT_EQ(encrypted.file.size(), HeaderSize(encrypted.file) + 16 + size + 16 * chunks);
      for (const AgeIdentity& identity : {alice_, bob_}) {
        std::string released;
        EXPECT_EQ(DecryptReleased(encrypted.file, {identity}, &released, 4096), AgeFailure::kNone);
        EXPECT_TRUE(released == data);
      }
    }
  }
}

TEST_F(AgeStreamTest, WrongIdentityIsNoMatch) {
  Encrypted encrypted = Encrypt("secret", ToBoth(), 100);
  std::string released;
  EXPECT_EQ(DecryptReleased(encrypted.file, {AgeIdentity::Generate()}, &released),
            AgeFailure::kNoMatch);
}

TEST_F(AgeStreamTest, TruncatedOrAlteredPayloadFailsAfterReleasingOnlyAuthenticChunks) {
  const std::string data = MakeTestData(3 * kAgeChunkSize + 1000);
  Encrypted encrypted = Encrypt(data, ToBoth(), 1 << 20);
  const size_t payload = HeaderSize(encrypted.file) + 16;

  // Cut after two whole chunks: both authenticate as non-final, then the end comes too early.
  std::string released;
  EXPECT_EQ(DecryptReleased(encrypted.file.substr(0, payload + 2 * kSealed), {alice_}, &released),
            AgeFailure::kPayload);
  EXPECT_TRUE(released == data.substr(0, 2 * kAgeChunkSize));

  std::string altered = encrypted.file;
  altered[payload + kSealed + 5] ^= 1;  // second chunk
  released.clear();
  EXPECT_EQ(DecryptReleased(altered, {alice_}, &released), AgeFailure::kPayload);
  EXPECT_TRUE(released == data.substr(0, kAgeChunkSize));

  // A byte after a short final chunk becomes part of it: that chunk fails.
  released.clear();
  EXPECT_EQ(DecryptReleased(encrypted.file + "x", {alice_}, &released), AgeFailure::kPayload);
  EXPECT_TRUE(released == data.substr(0, 3 * kAgeChunkSize));

  // After a full final chunk, the chunk is authentic and released; the extra byte is the error.
  const std::string full = data.substr(0, 2 * kAgeChunkSize);
  Encrypted two_chunks = Encrypt(full, ToBoth(), 1 << 20);
  released.clear();
  EXPECT_EQ(DecryptReleased(two_chunks.file + "x", {alice_}, &released), AgeFailure::kPayload);
  EXPECT_TRUE(released == full);
}

TEST_F(AgeStreamTest, PairTokenIsReadableWithoutKeyAndCoveredByMac) {
  AgeEncryptOptions options = ToBoth();
  options.pair_token = "set = \"20261129T151500Z\"\ntoken = \"3f2a9c\"\n";
  Encrypted encrypted = Encrypt("payload", options, 100);

  auto header = ParseAgeHeader(encrypted.file);
  ASSERT_TRUE(header.ok() && header->has_value());
  EXPECT_EQ(AgePairToken(**header), options.pair_token);
  std::string released;
  EXPECT_EQ(DecryptReleased(encrypted.file, {bob_}, &released), AgeFailure::kNone);
  EXPECT_EQ(released, "payload");

  ScratchDir dir;
  ASSERT_TRUE(WriteFile(dir / "half.age", encrypted.file).ok());
  auto from_file = ReadAgeFileHeader(dir / "half.age");
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(AgePairToken(*from_file), options.pair_token);
  ASSERT_TRUE(WriteFile(dir / "plain", "not age\n").ok());
  auto not_age = ReadAgeFileHeader(dir / "plain");
  ASSERT_FALSE(not_age.ok());
  EXPECT_NE(not_age.status().message().find(dir / "plain"), std::string::npos);

  // Another token in its place (re-encoded, so the header still parses) breaks the MAC.
  const std::string original = EncodeAgeStanza({kAgePairStanzaType, {}, *options.pair_token});
  const std::string forged = EncodeAgeStanza({kAgePairStanzaType, {}, "token = \"000000\"\n"});
  std::string altered = encrypted.file;
  const size_t at = altered.find(original);
  ASSERT_NE(at, std::string::npos);
  altered.replace(at, original.size(), forged);
  released.clear();
  EXPECT_EQ(DecryptReleased(altered, {bob_}, &released), AgeFailure::kHmac);
  EXPECT_TRUE(released.empty());
}

TEST_F(AgeStreamTest, PassphraseRecipientMustBeAlone) {
  AgeEncryptOptions options;
  options.recipients = {AgeRecipient::Passphrase("pw", 10)};
  Encrypted encrypted = Encrypt("by passphrase", options, 100);
  std::string released;
  EXPECT_EQ(DecryptReleased(encrypted.file, {AgeIdentity::Passphrase("pw")}, &released),
            AgeFailure::kNone);
  EXPECT_EQ(released, "by passphrase");
  EXPECT_EQ(DecryptReleased(encrypted.file, {AgeIdentity::Passphrase("nope")}, &released),
            AgeFailure::kNoMatch);

  options.recipients.push_back(alice_.Recipient());
  EXPECT_FALSE(AgeEncryptingSink::Create(nullptr, options).ok());
  options.recipients.pop_back();
  options.pair_token = "token";
  EXPECT_FALSE(AgeEncryptingSink::Create(nullptr, options).ok());
}

TEST_F(AgeStreamTest, RangesDecryptFromTheCoveringChunksOnly) {
  for (size_t size : {size_t{1}, size_t{2 * kAgeChunkSize}, size_t{300000}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::string data = MakeTestData(size, 7);
    Encrypted encrypted = Encrypt(data, ToBoth(), 65536);
    const std::string head = encrypted.file.substr(0, 4096);
    auto range = AgeRangeDecryptor::Open(head, encrypted.file.size(), {bob_}, "test file");
    ASSERT_TRUE(range.ok()) << range.status().ToString();
    EXPECT_EQ(range->plaintext_size(), size);
    std::mt19937 random(static_cast<unsigned>(size));
    std::vector<std::pair<uint64_t, uint64_t>> ranges = {{0, size}, {size - 1, size}, {0, 1}};
    for (int i = 0; i < 40; ++i) {
      uint64_t a = random() % size, b = random() % size;
      ranges.push_back({std::min(a, b), std::max(a, b) + 1});
    }
    for (auto [begin, end] : ranges) {
      const AgeRangeDecryptor::Span span = range->CipherSpan(begin, end);
      // Only whole chunks, and no more of them than the range touches.
      EXPECT_LE(span.size, ((end - 1) / kAgeChunkSize - begin / kAgeChunkSize + 1) * kSealed);
      auto plain = range->Decrypt(begin, end,
                                  std::string_view(encrypted.file).substr(span.offset, span.size));
      ASSERT_TRUE(plain.ok()) << plain.status().ToString();
      EXPECT_TRUE(*plain == data.substr(begin, end - begin)) << begin << ".." << end;
    }
  }
}

TEST_F(AgeStreamTest, RangesDetectAlterationAndTruncation) {
  const std::string data = MakeTestData(3 * kAgeChunkSize, 3);
  Encrypted encrypted = Encrypt(data, ToBoth(), 65536);
  auto range = AgeRangeDecryptor::Open(encrypted.file, encrypted.file.size(), {alice_}, "f");
  ASSERT_TRUE(range.ok());
  auto span = range->CipherSpan(70000, 70010);
  std::string cipher = encrypted.file.substr(span.offset, span.size);
  cipher[3] ^= 1;
  EXPECT_FALSE(range->Decrypt(70000, 70010, cipher).ok());

  // The file as listed lost its last chunk: the chunk now taken as final is not.
  const uint64_t short_size = encrypted.file.size() - kSealed;
  auto truncated = AgeRangeDecryptor::Open(encrypted.file, short_size, {alice_}, "f");
  ASSERT_TRUE(truncated.ok());
  const uint64_t end = truncated->plaintext_size();
  span = truncated->CipherSpan(end - 10, end);
  EXPECT_FALSE(
      truncated->Decrypt(end - 10, end, encrypted.file.substr(span.offset, span.size)).ok());

  AgeFailure failure = AgeFailure::kNone;
  EXPECT_FALSE(AgeRangeDecryptor::Open(encrypted.file.substr(0, 40), encrypted.file.size(),
                                       {alice_}, "f", &failure)
                   .ok());
  EXPECT_FALSE(AgeRangeDecryptor::Open(encrypted.file, encrypted.file.size(),
                                       {AgeIdentity::Generate()}, "f", &failure)
                   .ok());
  EXPECT_EQ(failure, AgeFailure::kNoMatch);
}

TEST(AgeBase64, StrictUnpaddedCanonical) {
  std::string out;
  EXPECT_EQ(age::Base64Encode("ab"), "YWI");
  EXPECT_TRUE(age::Base64Decode("YWI", &out));
  EXPECT_EQ(out, "ab");
  EXPECT_FALSE(age::Base64Decode("YWI=", &out));  // padding
  EXPECT_FALSE(age::Base64Decode("YWJ", &out));   // non-zero trailing bits
  EXPECT_FALSE(age::Base64Decode("YW I", &out));  // space
  EXPECT_FALSE(age::Base64Decode("Y", &out));     // impossible length
  EXPECT_TRUE(age::Base64Decode("", &out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace gb
