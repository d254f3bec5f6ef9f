// The C2SP CCTV age test vectors (tests/testdata/cctv-age, see its SOURCE and LICENSE): every
// vector that is neither armored nor post-quantum must give the expected outcome and, when
// given, the SHA-256 of the plaintext released before the end or the failure.
#include <dirent.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <map>

#include "io/age_header.h"
#include "io/age_stream.h"
#include "io/files.h"
#include "io/sha256.h"
#include "io_age_test_util.h"

namespace gb {
namespace {

const std::string kVectorDir = std::string(GB_TESTDATA_DIR) + "/cctv-age/testdata";

struct Vector {
  std::multimap<std::string, std::string> fields;
  std::string age_file;
  bool unknown_key = false;

  std::string Get(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? "" : it->second;
  }
};

std::string Inflate(const std::string& compressed) {
  std::string out;
  z_stream stream{};
  EXPECT_EQ(inflateInit(&stream), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  char buffer[1 << 16];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  EXPECT_EQ(result, Z_STREAM_END);
  inflateEnd(&stream);
  return out;
}

// The vector format (age/README.md of CCTV): "key: value" lines, an empty line, the age file.
Vector LoadVector(const std::string& name) {
  auto text = ReadWholeFile(kVectorDir + "/" + name);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  Vector vector;
  const size_t split = text->find("\n\n");
  size_t pos = 0;
  static const char* kKnown[] = {"expect",     "payload", "file key",   "identity",
                                 "passphrase", "armored", "compressed", "comment"};
  while (pos < split) {
    const size_t end = text->find('\n', pos);
    const std::string line = text->substr(pos, end - pos);
    pos = end + 1;
    const size_t colon = line.find(": ");
    const std::string key = line.substr(0, colon);
    vector.fields.emplace(key, line.substr(colon + 2));
    vector.unknown_key |= std::none_of(std::begin(kKnown), std::end(kKnown),
                                       [&](const char* known) { return key == known; });
  }
  vector.age_file = text->substr(split + 2);
  if (vector.Get("compressed") == "zlib") vector.age_file = Inflate(vector.age_file);
  return vector;
}

std::vector<std::string> VectorNames() {
  std::vector<std::string> names;
  if (DIR* dir = opendir(kVectorDir.c_str())) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') names.push_back(entry->d_name);
    }
    closedir(dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Armored files and post-quantum (hybrid) identities are out of scope for govern-backup.
bool InScope(const Vector& vector) {
  if (vector.unknown_key || vector.Get("armored") == "yes") return false;
  auto range = vector.fields.equal_range("identity");
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.rfind("AGE-SECRET-KEY-1", 0) != 0) return false;
  }
  return true;
}

const char* OutcomeName(AgeFailure failure) {
  switch (failure) {
    case AgeFailure::kNone:
      return "success";
    case AgeFailure::kRead:
      return "read failure";
    case AgeFailure::kHeader:
      return "header failure";
    case AgeFailure::kNoMatch:
      return "no match";
    case AgeFailure::kHmac:
      return "HMAC failure";
    case AgeFailure::kPayload:
      return "payload failure";
  }
  return "?";
}

// Decrypts the vector; returns the outcome and sets the plaintext released on the way.
AgeFailure Decrypt(const Vector& vector, std::string* released) {
  std::vector<AgeIdentity> identities;
  for (const auto& [key, value] : vector.fields) {
    if (key == "identity") {
      auto identity = AgeIdentity::Parse(value);
      EXPECT_TRUE(identity.ok());
      if (identity.ok()) identities.push_back(*identity);
    } else if (key == "passphrase") {
      identities.push_back(AgeIdentity::Passphrase(value));
    }
  }
  return testing::DecryptReleased(vector.age_file, identities, released);
}

class CctvAge : public ::testing::TestWithParam<std::string> {};

TEST_P(CctvAge, ExpectedOutcomeAndPayload) {
  const Vector vector = LoadVector(GetParam());
  if (!InScope(vector)) GTEST_SKIP() << "armored or post-quantum vector: not supported";
  std::string released;
  const AgeFailure outcome = Decrypt(vector, &released);
  EXPECT_EQ(OutcomeName(outcome), vector.Get("expect")) << vector.Get("comment");
  if (!vector.Get("payload").empty()) {
    EXPECT_EQ(Sha256::OfString(released), vector.Get("payload"));
  }
  // Headers that parse must re-encode to the same bytes (what the MAC covers).
  if (vector.Get("expect") != "header failure") {
    auto header = ParseAgeHeader(vector.age_file);
    ASSERT_TRUE(header.ok() && header->has_value());
    std::string encoded = "age-encryption.org/v1\n";
    for (const AgeStanza& stanza : (*header)->stanzas) encoded += EncodeAgeStanza(stanza);
    EXPECT_EQ(encoded + "---", (*header)->mac_input);
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, CctvAge, ::testing::ValuesIn(VectorNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// Guards against a suite that silently skips: the copy holds 92 in-scope vectors.
TEST(CctvAgeSuite, AllInScopeVectorsAreRun) {
  int in_scope = 0;
  for (const std::string& name : VectorNames()) in_scope += InScope(LoadVector(name)) ? 1 : 0;
  EXPECT_EQ(in_scope, 92);
}

}  // namespace
}  // namespace gb
