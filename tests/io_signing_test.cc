#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/files.h"
#include "io/signing.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::Command;
using testing::ScratchDir;

const std::string kManifest = "{\"set\": \"20261129T151500Z\", \"halves\": 2}\n";

TEST(Signing, VerdictsDistinguishValidUnsignedUnknownAndTampered) {
  SigningKey key = SigningKey::Generate();
  SigningKey stranger = SigningKey::Generate();
  const std::vector<std::string> trusted = {SigningKey::Generate().PublicKey(), key.PublicKey()};
  auto signature = key.Sign(kManifest);
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(signature->public_key, key.PublicKey());

  SignatureVerdict valid = VerifySignature(kManifest, *signature, trusted);
  EXPECT_EQ(valid.check, SignatureCheck::kValid);
  EXPECT_EQ(valid.public_key, key.PublicKey());

  EXPECT_EQ(VerifySignature(kManifest, std::nullopt, trusted).check, SignatureCheck::kUnsigned);

  auto foreign = stranger.Sign(kManifest);
  ASSERT_TRUE(foreign.ok());
  SignatureVerdict unknown = VerifySignature(kManifest, *foreign, trusted);
  EXPECT_EQ(unknown.check, SignatureCheck::kUnknownKey);
  EXPECT_NE(unknown.Describe().find(stranger.PublicKey()), std::string::npos);

  std::string tampered = kManifest;
  tampered[10] = '9';
  EXPECT_EQ(VerifySignature(tampered, *signature, trusted).check, SignatureCheck::kInvalid);

  // A signature claiming a trusted key but made by another key is tampering too.
  Signature forged = *foreign;
  forged.public_key = key.PublicKey();
  EXPECT_EQ(VerifySignature(kManifest, forged, trusted).check, SignatureCheck::kInvalid);
  forged.value = "not base64!";
  EXPECT_EQ(VerifySignature(kManifest, forged, trusted).check, SignatureCheck::kInvalid);
}

TEST(Signing, PublicKeyTextForm) {
  const std::string text = SigningKey::Generate().PublicKey();
  EXPECT_EQ(text.rfind("ed25519:", 0), 0u);
  EXPECT_EQ(text.size(), 8u + 43u);
  EXPECT_TRUE(ValidatePublicKey(text).ok());
  EXPECT_FALSE(ValidatePublicKey("ed25519:abc").ok());
  EXPECT_FALSE(ValidatePublicKey(text.substr(8)).ok());
  Status bad = ValidatePublicKey("rsa:xyz");
  EXPECT_NE(bad.message().find("rsa:xyz"), std::string::npos);
}

TEST(Signing, KeyFileIsPrivatePemAndReadsBack) {
  ScratchDir dir;
  const std::string path = dir / "signing.pem";
  SigningKey key = SigningKey::Generate();
  ASSERT_TRUE(key.WriteFile(path).ok());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_FALSE(key.WriteFile(path).ok());  // never overwrites a key

  auto read = SigningKey::ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->PublicKey(), key.PublicKey());
  auto signature = read->Sign(kManifest);
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(VerifySignature(kManifest, *signature, {key.PublicKey()}).check,
            SignatureCheck::kValid);

  // OpenSSL's CLI reads the same file and derives the same public key.
  auto der = RunSubprocess(
      Command({"sh", "-c",
               "openssl pkey -in " + path + " -pubout -outform DER | tail -c 32 | base64 -w0"}));
  ASSERT_TRUE(der.ok() && der->success());
  std::string unpadded = der->stdout_text;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
  EXPECT_EQ("ed25519:" + unpadded, key.PublicKey());

  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  auto exposed = SigningKey::ReadFile(path);
  ASSERT_FALSE(exposed.ok());
  EXPECT_NE(exposed.status().message().find(path), std::string::npos);
  EXPECT_NE(exposed.status().message().find("0644"), std::string::npos);

  ASSERT_TRUE(WriteFile(dir / "garbage.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n", 0600).ok());
  auto garbage = SigningKey::ReadFile(dir / "garbage.pem");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().ToString().find("AAAA"), std::string::npos);
}

}  // namespace
}  // namespace gb
