// keygen writes a new key file (0600, never over another) and prints only its public half:
// an age identity that Debian's age-keygen reads, or an Ed25519 key in PEM that openssl reads.
#include <sys/stat.h>

#include <chrono>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "coordinator/exit_codes.h"
#include "io/files.h"
#include "io/signing.h"
#include "io/subprocess.h"
#include "tests/support/cli_json.h"
#include "tests/support/scratch_dir.h"

namespace gb {
namespace {

using testing::JsonRun;
using testing::RunJson;
using testing::ScratchDir;

// keygen reads no config: a path that does not exist proves it.
constexpr char kNoConfig[] = "/nonexistent/govern-backup.toml";

ExitInfo RunCommand(const std::vector<std::string>& argv) {
  SubprocessOptions options;
  options.argv = argv;
  options.timeout = std::chrono::seconds(60);
  Result<ExitInfo> exit = RunSubprocess(options);
  EXPECT_TRUE(exit.ok()) << exit.status().ToString();
  return exit.ok() ? *exit : ExitInfo{};
}

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

TEST(KeygenTest, AnAgeIdentityPrintsItsRecipientAndAgeReadsIt) {
  ScratchDir dir;
  const std::string key = dir / "identity.txt";
  ExitInfo made = RunCommand({GOVERN_BACKUP_BINARY, "-c", kNoConfig, "keygen", "--out", key});
  ASSERT_EQ(made.exit_code, kExitOk) << made.stderr_text;
  const std::string recipient = made.stdout_text.substr(0, made.stdout_text.find('\n'));
  EXPECT_EQ(recipient.rfind("age1", 0), 0u) << made.stdout_text;
  EXPECT_EQ(made.stdout_text, recipient + "\n");  // the public key alone, for scripts
  EXPECT_EQ(ModeOf(key), 0600);
  EXPECT_EQ(made.stdout_text.find("AGE-SECRET-KEY"), std::string::npos);
  EXPECT_EQ(made.stderr_text.find("AGE-SECRET-KEY"), std::string::npos);

  ExitInfo derived = RunCommand({"age-keygen", "-y", key});  // Debian's age (scripts/install-deps)
  EXPECT_EQ(derived.stdout_text, recipient + "\n");
}

TEST(KeygenTest, ASigningKeyPrintsAPublicKeyTrustedKeysTakes) {
  ScratchDir dir;
  const std::string key = dir / "signing.pem";
  JsonRun made = RunJson(kNoConfig, {"keygen", "--signing", "--out", key});
  ASSERT_EQ(made.exit_code, kExitOk) << made.err;
  const std::string public_key = made.doc.value("public_key", "");
  EXPECT_TRUE(ValidatePublicKey(public_key).ok()) << public_key;
  EXPECT_EQ(made.doc.value("config_key", ""), "trusted_keys");
  EXPECT_EQ(ModeOf(key), 0600);
  EXPECT_EQ(made.out.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(made.err.find("PRIVATE KEY"), std::string::npos);

  Result<SigningKey> read = SigningKey::ReadFile(key);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->PublicKey(), public_key);
  ExitInfo openssl = RunCommand({"openssl", "pkey", "-in", key, "-noout"});
  EXPECT_EQ(openssl.exit_code, 0) << openssl.stderr_text;
}

// The file is age-keygen's text, line for line: what `age -d -i` and `age-keygen -y` expect,
// and what an admin recognises; the signing key's plain output is its public key alone.
TEST(KeygenTest, TheFilesAreInTheFormatsOfAgeKeygenAndOpenssl) {
  ScratchDir dir;
  const std::string key = dir / "identity.txt";
  ExitInfo made = RunCommand({GOVERN_BACKUP_BINARY, "-c", kNoConfig, "keygen", "--out", key});
  ASSERT_EQ(made.exit_code, kExitOk) << made.stderr_text;
  const std::string recipient = made.stdout_text.substr(0, made.stdout_text.find('\n'));
  const std::string text = ReadWholeFile(key).value();
  EXPECT_TRUE(std::regex_match(
      text, std::regex("# created: \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(Z|[+-]\\d\\d:\\d\\d)\n"
                       "# public key: " + recipient + "\nAGE-SECRET-KEY-1[0-9A-Z]{58}\n")))
      << "not age-keygen's layout";

  const std::string signing = dir / "signing.pem";
  ExitInfo signed_key =
      RunCommand({GOVERN_BACKUP_BINARY, "-c", kNoConfig, "keygen", "--signing", "--out", signing});
  ASSERT_EQ(signed_key.exit_code, kExitOk) << signed_key.stderr_text;
  EXPECT_EQ(signed_key.stdout_text, SigningKey::ReadFile(signing)->PublicKey() + "\n");
  EXPECT_EQ(signed_key.stderr_text.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(ReadWholeFile(signing)->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  EXPECT_EQ(ModeOf(signing), 0600);
}

TEST(KeygenTest, AnExistingFileIsNeverReplaced) {
  ScratchDir dir;
  const std::string key = dir / "taken";
  ASSERT_TRUE(WriteFile(key, "someone's key\n", 0600).ok());
  for (bool signing : {false, true}) {
    std::vector<std::string> argv = {GOVERN_BACKUP_BINARY, "-c", kNoConfig, "keygen", "--out", key};
    if (signing) argv.push_back("--signing");
    ExitInfo again = RunCommand(argv);
    EXPECT_EQ(again.exit_code, kExitFailed) << again.stderr_text;
    EXPECT_NE(again.stderr_text.find(key), std::string::npos) << again.stderr_text;
    EXPECT_EQ(*ReadWholeFile(key), "someone's key\n");
  }
}

TEST(KeygenTest, WithoutOutIsAUsageError) {
  ExitInfo bare = RunCommand({GOVERN_BACKUP_BINARY, "-c", kNoConfig, "keygen"});
  EXPECT_EQ(bare.exit_code, kExitUsage);
  EXPECT_NE(bare.stderr_text.find("--out"), std::string::npos) << bare.stderr_text;
}

}  // namespace
}  // namespace gb
