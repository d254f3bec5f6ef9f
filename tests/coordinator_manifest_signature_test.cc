// Signed manifests without a node: the [signature] table's exact form, its round trip
// through Parse, and the verdicts for every way a manifest can be altered around it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "coordinator/manifest_signature.h"
#include "io/signing.h"
#include "tests/support/scratch_dir.h"

namespace gb {
namespace {

using testing::ScratchDir;

Manifest SampleManifest() {
  Manifest manifest;
  manifest.id = "20261124T081500Z-3f9a1c";
  manifest.pair_token = "0123456789abcdef0123456789abcdef";
  manifest.created_at = TimePoint(std::chrono::seconds(1795508100));
  manifest.tool_version = "0.2.0";
  manifest.note = "a note with \"[signature]\"\nand a line break";
  manifest.node = {"/data/dss", "govern", "14.4.1", "14400", "/srv/install", "node-1", "host1"};
  manifest.datadir.file = manifest.id + ".datadir.tar.zst";
  manifest.datadir.sha256 = std::string(64, 'a');
  manifest.datadir.bytes = 1234;
  return manifest;
}

class ManifestSignatureTest : public ::testing::Test {
 protected:
  // Writes a key into the scratch directory; returns its [encryption] form.
  EncryptionConfig KeyConfig(const std::string& name) {
    EncryptionConfig encryption;
    encryption.signing_key_file = dir_ / name;
    SigningKey key = SigningKey::Generate();
    EXPECT_TRUE(key.WriteFile(encryption.signing_key_file).ok());
    return encryption;
  }
  // The text of SampleManifest() signed with `encryption`'s key.
  std::string SignedText(const EncryptionConfig& encryption) {
    Result<ManifestSigner> signer = ManifestSigner::FromConfig(encryption);
    EXPECT_TRUE(signer.ok()) << signer.status().ToString();
    Manifest manifest = SampleManifest();
    EXPECT_TRUE(signer->Sign(manifest).ok());
    return manifest.ToText();
  }
  SignatureCheck Verdict(const EncryptionConfig& trusting, const std::string& text) {
    Result<ManifestTrust> trust = ManifestTrust::FromConfig(trusting);
    EXPECT_TRUE(trust.ok()) << trust.status().ToString();
    Result<Manifest> parsed = Manifest::Parse(text, "manifest.toml");
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    return parsed.ok() ? trust->Check(*parsed).check : SignatureCheck::kInvalid;
  }

  ScratchDir dir_;
};

TEST_F(ManifestSignatureTest, TheSignatureIsALastTableOverEveryByteBeforeIt) {
  const EncryptionConfig own = KeyConfig("own.pem");
  const std::string text = SignedText(own);
  const std::string unsigned_text = SampleManifest().ToText();
  ASSERT_EQ(text.compare(0, unsigned_text.size(), unsigned_text), 0);
  const std::string table = text.substr(unsigned_text.size());
  EXPECT_EQ(table.rfind("\n[signature]\npublic_key = \"ed25519:", 0), 0u) << table;

  Result<Manifest> parsed = Manifest::Parse(text, "manifest.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_TRUE(parsed->signature.has_value());
  EXPECT_EQ(parsed->ToText(), text);  // written again byte for byte
  EXPECT_EQ(SplitSignedText(text).covered, unsigned_text);
  EXPECT_EQ(SignatureJson(*parsed)["signed_by"], parsed->signature->public_key);
  EXPECT_EQ(Verdict(own, text), SignatureCheck::kValid);  // a node trusts itself
}

TEST_F(ManifestSignatureTest, EveryAlterationIsTold) {
  const EncryptionConfig own = KeyConfig("own.pem");
  const std::string text = SignedText(own);
  EXPECT_EQ(Verdict(own, SampleManifest().ToText()), SignatureCheck::kUnsigned);
  EXPECT_EQ(Verdict(own, SignedText(KeyConfig("other.pem"))), SignatureCheck::kUnknownKey);
  EXPECT_EQ(Verdict(own, text + "# appended\n"), SignatureCheck::kInvalid);
  EXPECT_EQ(Verdict(own, text + "\n[later]\nkey = 1\n"), SignatureCheck::kInvalid);

  // A field edited and the checksum recomputed, the signature kept.
  Manifest edited = *Manifest::Parse(text, "manifest.toml");
  edited.datadir.sha256 = std::string(64, 'b');
  EXPECT_EQ(Verdict(own, edited.ToText()), SignatureCheck::kInvalid);

  // The signature value itself altered (a flipped character).
  std::string flipped = text;
  const size_t value = flipped.rfind("value = \"") + 12;
  flipped[value] = flipped[value] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Verdict(own, flipped), SignatureCheck::kInvalid);
}

TEST_F(ManifestSignatureTest, AcceptNamesTheSetAndIsSilentWhenNothingIsRequired) {
  const EncryptionConfig own = KeyConfig("own.pem");
  Result<ManifestTrust> trust = ManifestTrust::FromConfig(own);
  ASSERT_TRUE(trust.ok());
  Status refused = trust->Accept(SampleManifest());
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("set " + SampleManifest().id), std::string::npos);
  EXPECT_NE(refused.message().find("not signed"), std::string::npos);

  Result<ManifestTrust> none = ManifestTrust::FromConfig(EncryptionConfig{});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->required());
  EXPECT_TRUE(none->Accept(SampleManifest()).ok());
}

TEST_F(ManifestSignatureTest, AnUnreadableKeyNamesTheFile) {
  EncryptionConfig missing;
  missing.signing_key_file = dir_ / "missing.pem";
  Result<ManifestSigner> signer = ManifestSigner::FromConfig(missing);
  ASSERT_FALSE(signer.ok());
  EXPECT_NE(signer.status().message().find(missing.signing_key_file), std::string::npos);
  EXPECT_FALSE(ManifestTrust::FromConfig(missing).ok());
}

}  // namespace
}  // namespace gb
