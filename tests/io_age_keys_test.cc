#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/age_identity_file.h"
#include "io/age_keys.h"
#include "io/age_stream.h"
#include "io/files.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::Command;
using testing::ScratchDir;

// The identity of the CCTV vectors; its recipient as printed by `age-keygen -y` (age 1.1.1).
constexpr char kIdentity[] =
    "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
constexpr char kRecipient[] = "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef";

bool HaveAgeCli() { return access("/usr/bin/age-keygen", X_OK) == 0; }

TEST(AgeBech32, Bip173VectorsAndStrictness) {
  std::string hrp, data;
  EXPECT_TRUE(age::Bech32Decode("A12UEL5L", &hrp, &data));
  EXPECT_EQ(hrp, "A");
  EXPECT_TRUE(data.empty());
  EXPECT_TRUE(age::Bech32Decode("a12uel5l", &hrp, &data));
  EXPECT_EQ(hrp, "a");
  EXPECT_FALSE(age::Bech32Decode("A12uEL5L", &hrp, &data));       // mixed case
  EXPECT_FALSE(age::Bech32Decode("a12uel5m", &hrp, &data));       // checksum
  EXPECT_FALSE(age::Bech32Decode("1pzry9x0s0muk", &hrp, &data));  // empty HRP
  EXPECT_FALSE(age::Bech32Decode("a1b2uel5l", &hrp, &data));      // 'b' is not in the charset
  const std::string bytes("\x00\x01\xfe\xff govern", 10);
  std::string encoded = age::Bech32Encode("test", bytes);
  ASSERT_TRUE(age::Bech32Decode(encoded, &hrp, &data));
  EXPECT_EQ(hrp, "test");
  EXPECT_EQ(data, bytes);
  std::string upper = encoded;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_EQ(age::Bech32Encode("TEST", bytes), upper);
}

TEST(AgeKeys, KnownIdentityGivesAgeKeygenRecipient) {
  auto identity = AgeIdentity::Parse(kIdentity);
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->ToString(), kIdentity);
  EXPECT_EQ(identity->Recipient().ToString(), kRecipient);
  auto recipient = AgeRecipient::Parse(kRecipient);
  ASSERT_TRUE(recipient.ok());
  EXPECT_EQ(recipient->public_key(), identity->Recipient().public_key());
}

TEST(AgeKeys, RefusesMalformedKeysWithoutQuotingSecrets) {
  std::string damaged = kIdentity;
  damaged[20] = damaged[20] == 'Q' ? 'P' : 'Q';
  auto identity = AgeIdentity::Parse(damaged);
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.status().ToString().find(damaged.substr(16, 20)), std::string::npos);
  EXPECT_FALSE(AgeIdentity::Parse(kRecipient).ok());
  // Like age: identities are uppercase, recipients lowercase.
  std::string lower_identity = kIdentity, upper_recipient = kRecipient;
  for (char& c : lower_identity) c = static_cast<char>(tolower(c));
  for (char& c : upper_recipient) c = static_cast<char>(toupper(c));
  EXPECT_FALSE(AgeIdentity::Parse(lower_identity).ok());
  EXPECT_FALSE(AgeRecipient::Parse(upper_recipient).ok());
  EXPECT_FALSE(AgeRecipient::Parse(kIdentity).ok());
  EXPECT_FALSE(AgeRecipient::Parse("age1qqqq").ok());

  auto parsed = ParseIdentities("# comment\n\n" + damaged + "\n", "/keys/x.txt");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("/keys/x.txt, line 3"), std::string::npos);
  EXPECT_EQ(parsed.status().ToString().find(damaged.substr(16, 20)), std::string::npos);
  EXPECT_FALSE(ParseIdentities("# only a comment\n", "empty.txt").ok());
}

TEST(AgeKeys, GeneratedFileHasAgeKeygenFormatAndMode) {
  ScratchDir dir;
  const std::string path = dir / "identity.txt";
  auto identity = GenerateIdentityFile(path);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);

  auto text = ReadWholeFile(path);
  ASSERT_TRUE(text.ok());
  const std::string recipient = identity->Recipient().ToString();
  ASSERT_EQ(text->rfind("# created: ", 0), 0u);
  EXPECT_EQ(text->find('Z'), std::string("# created: 2026-11-29T14:11:00").size());
  EXPECT_NE(text->find("\n# public key: " + recipient + "\n" + identity->ToString() + "\n"),
            std::string::npos);

  auto read_back = ReadIdentityFile(path);
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  ASSERT_EQ(read_back->size(), 1u);
  EXPECT_EQ((*read_back)[0].secret_key(), identity->secret_key());

  EXPECT_FALSE(GenerateIdentityFile(path).ok());  // never overwrites a key

  if (!HaveAgeCli()) GTEST_SKIP() << "age-keygen not installed (apt-get install age)";
  auto shown = RunSubprocess(Command({"age-keygen", "-y", path}));
  ASSERT_TRUE(shown.ok() && shown->success());
  EXPECT_EQ(shown->stdout_text, recipient + "\n");
}

TEST(AgeKeys, ReadingRefusesKeyFileReadableByOthers) {
  ScratchDir dir;
  const std::string path = dir / "identity.txt";
  auto identity = GenerateIdentityFile(path);
  ASSERT_TRUE(identity.ok());
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  auto read = ReadIdentityFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kUsage);
  const std::string message = read.status().ToString();
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("0640"), std::string::npos) << message;
  EXPECT_EQ(message.find(identity->ToString()), std::string::npos);
}

// A key file protected with a passphrase, as `age-keygen | age -p` makes it (age's scrypt
// stanza; the CLI direction is tested in io_age_interop_test).
TEST(AgeKeys, PassphraseProtectedKeyFileWithPassphraseFile) {
  ScratchDir dir;
  AgeIdentity identity = AgeIdentity::Generate();
  const std::string plain = FormatIdentityFile(identity, 0);
  AgeEncryptOptions options;
  options.recipients = {AgeRecipient::Passphrase("correct horse", 10)};
  auto encrypted = AgeEncryptString(plain, options);
  ASSERT_TRUE(encrypted.ok());
  const std::string key_path = dir / "key.age";
  ASSERT_TRUE(WriteFile(key_path, *encrypted, 0600).ok());

  const std::string pass_path = dir / "passphrase";
  ASSERT_TRUE(WriteFile(pass_path, "correct horse\n", 0600).ok());
  auto identities = ReadIdentityFile(key_path, {pass_path});
  ASSERT_TRUE(identities.ok()) << identities.status().ToString();
  ASSERT_EQ(identities->size(), 1u);
  EXPECT_EQ((*identities)[0].secret_key(), identity.secret_key());

  ASSERT_TRUE(WriteFile(pass_path, "wrong horse\n", 0600).ok());
  auto wrong = ReadIdentityFile(key_path, {pass_path});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("wrong passphrase"), std::string::npos);
  EXPECT_EQ(wrong.status().ToString().find("horse"), std::string::npos);

  ASSERT_TRUE(WriteFile(pass_path, "correct horse\n", 0644).ok());
  auto exposed = ReadIdentityFile(key_path, {pass_path});
  ASSERT_FALSE(exposed.ok());
  EXPECT_NE(exposed.status().message().find("passphrase file " + pass_path), std::string::npos);
}

}  // namespace
}  // namespace gb
