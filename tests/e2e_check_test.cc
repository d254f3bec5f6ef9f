// End-to-end tests of `govern-backup check` against a generated Govern node.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "io/age_keys.h"
#include "io/files.h"
#include "io/signing.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

class CheckTest : public GovernNodeTest {
 protected:
  void WriteWholeConfig(const std::string& data_dir, const std::string& password_file,
                        const std::string& repository) {
    std::ofstream(config_path_, std::ios::trunc)
        << "[node]\ndata_dir = \"" << data_dir << "\"\n[database]\npassword_file = \"" << password_file
        << "\"\npg_bin_dir = \"" << SharedCluster().bin_dir() << "\"\n[repository]\npath = \""
        << repository << "\"\n";
  }
};

// [encryption] with an age identity, a signing key and the config that names them.
class KeyCheckTest : public CheckTest {
 protected:
  void SetUp() override {
    CheckTest::SetUp();
    identity_file_ = root_ + "/identity.txt";
    Result<AgeIdentity> identity = GenerateIdentityFile(identity_file_);
    ASSERT_TRUE(identity.ok()) << identity.status().ToString();
    recipient_ = identity->Recipient().ToString();
    identity_secret_ = identity->ToString();
    signing_key_file_ = root_ + "/signing.pem";
    SigningKey key = SigningKey::Generate();
    ASSERT_TRUE(key.WriteFile(signing_key_file_).ok());
    public_key_ = key.PublicKey();
    const std::string pem = ReadWholeFile(signing_key_file_).value();
    signing_secret_ = pem.substr(pem.find('\n') + 1, 40);
  }
  // The config with recipients, the signing key and `extra` in [encryption].
  void WriteKeys(const std::string& extra) {
    WriteConfig("[encryption]\nrecipients = [\"" + recipient_ + "\"]\nsigning_key_file = \"" +
                signing_key_file_ + "\"\n" + extra);
  }
  // The finding about `subject`; null when there is none or more than one.
  static nlohmann::json Only(const nlohmann::json& doc, const std::string& subject) {
    std::vector<nlohmann::json> found = FindingsAbout(doc, subject);
    EXPECT_EQ(found.size(), 1u) << subject << ": " << doc.dump();
    return found.size() == 1 ? found[0] : nlohmann::json();
  }
  void ExpectNoSecret(const std::vector<std::string>& outputs) {
    for (const std::string& output : outputs) {
      EXPECT_EQ(output.find(identity_secret_), std::string::npos) << output;
      EXPECT_EQ(output.find("AGE-SECRET-KEY"), std::string::npos) << output;
      EXPECT_EQ(output.find(signing_secret_), std::string::npos) << output;
    }
  }

  std::string identity_file_, recipient_, identity_secret_;
  std::string signing_key_file_, public_key_, signing_secret_;
};

TEST_F(KeyCheckTest, TheKeysAreShownByTheirPublicFormsOnly) {
  WriteKeys("trusted_keys = [\"" + public_key_ + "\"]\n");
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(HasOk(run.doc, "encryption recipients", "1 (" + recipient_ + ")")) << run.out;
  // No identity on the backup host: the recommended setup, said as info.
  EXPECT_TRUE(HasOk(run.doc, "identity file", "recommended")) << run.out;
  EXPECT_FALSE(Only(run.doc, "identity file").value("warning", false));
  EXPECT_TRUE(HasOk(run.doc, "signing key", public_key_)) << run.out;
  EXPECT_TRUE(HasOk(run.doc, "trusted keys", "1 (" + public_key_ + ")")) << run.out;
  CommandResult text = Run({"check"});
  EXPECT_NE(text.out.find("ok    signing key: " + public_key_), std::string::npos) << text.out;
  ExpectNoSecret({run.out, run.err, text.out, text.err});
}

// The identity restore needs should not be on the backup host: a warning, not a failure.
TEST_F(KeyCheckTest, AnIdentityOnTheBackupHostIsAWarning) {
  WriteKeys("identity_file = \"" + identity_file_ + "\"\n");
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  nlohmann::json identity = Only(run.doc, "identity file");
  EXPECT_EQ(identity.value("ok", false), true) << identity;
  EXPECT_EQ(identity.value("warning", false), true) << identity;
  EXPECT_NE(identity.value("message", "").find("keep it offline"), std::string::npos) << identity;
  CommandResult text = Run({"check"});
  EXPECT_NE(text.out.find("WARN  identity file: " + identity_file_), std::string::npos) << text.out;
  ExpectNoSecret({run.out, run.err, text.out, text.err});
}

// A key file that group or others may read, an identity file that does not parse, a signing
// key the trusted keys do not hold: each fails the check, naming the file.
TEST_F(KeyCheckTest, UnsafeOrUnusableKeyFilesFailTheCheck) {
  const std::string passphrase_file = root_ + "/passphrase";
  ASSERT_TRUE(WriteFile(passphrase_file, "correct horse\n", 0640).ok());
  fs::permissions(signing_key_file_, fs::perms::group_read, fs::perm_options::add);
  fs::permissions(identity_file_, fs::perms::others_read, fs::perm_options::add);
  WriteKeys("identity_file = \"" + identity_file_ + "\"\npassphrase_file = \"" +
            passphrase_file + "\"\n");
  JsonRun exposed = RunJson(config_path_, {"check"});
  EXPECT_EQ(exposed.exit_code, 1) << exposed.out << exposed.err;
  EXPECT_TRUE(HasProblem(exposed.doc, "identity file", identity_file_ + " has mode 0604",
                         "chmod 600"))
      << exposed.out;
  EXPECT_TRUE(HasProblem(exposed.doc, "passphrase file", passphrase_file + " has mode 0640"))
      << exposed.out;
  EXPECT_TRUE(HasProblem(exposed.doc, "signing key", signing_key_file_ + " has mode 0640"))
      << exposed.out;
  EXPECT_EQ(exposed.out.find("correct horse"), std::string::npos);
  ExpectNoSecret({exposed.out, exposed.err});

  fs::permissions(signing_key_file_, fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(WriteFile(identity_file_ + ".bad", "AGE-SECRET-KEY-1NOTAKEY\n", 0600).ok());
  WriteKeys("identity_file = \"" + identity_file_ + ".bad\"\ntrusted_keys = [\"" +
            SigningKey::Generate().PublicKey() + "\"]\n");
  JsonRun unusable = RunJson(config_path_, {"check"});
  EXPECT_EQ(unusable.exit_code, 1) << unusable.out << unusable.err;
  EXPECT_TRUE(HasProblem(unusable.doc, "identity file", identity_file_ + ".bad")) << unusable.out;
  EXPECT_TRUE(HasProblem(unusable.doc, "signing key", public_key_ + " of " + signing_key_file_,
                         "trusted_keys"))
      << unusable.out;
  EXPECT_EQ(unusable.out.find("NOTAKEY"), std::string::npos) << unusable.out;
}

TEST_F(CheckTest, AllWellOnAGeneratedNode) {
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.doc["command"], "check");
  EXPECT_EQ(run.doc["ok"], true);
  EXPECT_TRUE(Problems(run.doc).empty()) << run.out;
  EXPECT_TRUE(HasOk(run.doc, "node", "govern node at " + node_.data_dir));
  EXPECT_TRUE(HasOk(run.doc, "node", "DSS 14.4.1"));
  EXPECT_TRUE(HasOk(run.doc, "database", "PostgreSQL 15."));
  EXPECT_TRUE(HasOk(run.doc, "dss", "running"));
  for (const char* subject : {"config", "markers", "dump tools", "repository", "space"})
    EXPECT_TRUE(HasOk(run.doc, subject)) << subject;
  EXPECT_FALSE(fs::exists(repo_)) << "check must not create the repository";
}

// The text layout itself: one "ok" line per check, a failure with its hint below it.
TEST_F(CheckTest, TextLayoutIsOneLinePerCheckWithTheHintBelowAFailure) {
  CommandResult good = Run({"check"});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("ok    node: govern node at " + node_.data_dir), std::string::npos)
      << good.out;
  EXPECT_EQ(good.out.find("FAIL"), std::string::npos) << good.out;

  std::ofstream(node_.data_dir + "/DSS-MIGRATION-IN-PROGRESS.json") << "{}\n";
  CommandResult bad = Run({"check"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("FAIL  markers: a DSS migration is in progress"), std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("\n      hint: wait for the upgrade to finish"), std::string::npos)
      << bad.out;
}

TEST_F(CheckTest, WrongPasswordSaysSoAndNeverPrintsIt) {
  std::string wrong = root_ + "/wrong.pgpass";
  std::ofstream(wrong) << "*:*:*:*:not-the-password-x9\n";
  fs::permissions(wrong, fs::perms::owner_read | fs::perms::owner_write);
  WriteWholeConfig(node_.data_dir, wrong, repo_);
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.doc["ok"], false);
  EXPECT_TRUE(HasProblem(run.doc, "database", "password authentication failed"));
  CommandResult text = Run({"check"});
  for (const std::string& output : {run.out, run.err, text.out, text.err}) {
    EXPECT_EQ(output.find("not-the-password-x9"), std::string::npos) << output;
    EXPECT_EQ(output.find("govern-secret"), std::string::npos) << output;
  }
}

TEST_F(CheckTest, DatabaseDown) {
  ASSERT_TRUE(SharedCluster().StopServer().ok());
  JsonRun run = RunJson(config_path_, {"check"});
  ASSERT_TRUE(SharedCluster().StartServer().ok());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(HasProblem(run.doc, "database", "not reachable"));
}

TEST_F(CheckTest, MissingDataDir) {
  WriteWholeConfig(root_ + "/no-such-dir", SharedCluster().password_file(), repo_);
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(HasProblem(run.doc, "node", root_ + "/no-such-dir"));
  EXPECT_TRUE(HasProblem(run.doc, "node", "does not exist"));
}

TEST_F(CheckTest, MalformedDipProperties) {
  std::ofstream(node_.data_dir + "/config/dip.properties", std::ios::trunc)
      << "psql.jdbc.url=jdbc:mysql://db/govern\npsql.jdbc.user=govern\n";
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  ASSERT_EQ(Problems(run.doc).size(), 1u) << run.out;
  EXPECT_NE(Problems(run.doc)[0]["message"].get<std::string>().find("dip.properties"),
            std::string::npos)
      << run.out;
}

TEST_F(CheckTest, MigrationInProgress) {
  std::ofstream(node_.data_dir + "/DSS-MIGRATION-IN-PROGRESS.json") << "{}\n";
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(HasProblem(run.doc, "markers", "migration is in progress"));
  EXPECT_EQ(Problems(run.doc).size(), 1u) << run.out;
}

TEST_F(CheckTest, RepositoryNotWritable) {
  std::string repository;
  if (::geteuid() == 0) {
    // Permissions do not stop root: a repository path below a regular file cannot be made.
    std::ofstream(root_ + "/a-file") << "x";
    repository = root_ + "/a-file/repo";
  } else {
    fs::create_directories(root_ + "/locked");
    fs::permissions(root_ + "/locked", fs::perms::owner_read | fs::perms::owner_exec);
    repository = root_ + "/locked/repo";
  }
  WriteWholeConfig(node_.data_dir, SharedCluster().password_file(), repository);
  JsonRun run = RunJson(config_path_, {"check"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(HasProblem(run.doc, "repository", "repository " + repository));
}

TEST_F(CheckTest, InvalidConfigIsExitTwoNamingKeyAndLine) {
  std::ofstream(config_path_, std::ios::app) << "[backup]\ncompression_level = -1\n";
  CommandResult result = Run({"check"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("backup.compression_level"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("config.toml:13"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace testing
}  // namespace gb
