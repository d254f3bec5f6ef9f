// End-to-end tests of signed manifests ([encryption] signing_key_file, trusted_keys) on a
// generated Govern node: backup signs every manifest; verify (exit 3) and restore (exit 4,
// nothing touched) refuse a set that is unsigned, altered after signing, signed by an
// unknown key, or that builds on such a set; copy keeps the signature; list and show say who
// signed each set; no secret key text appears in any output or stored byte.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "io/age_keys.h"
#include "io/files.h"
#include "io/signing.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

class SigningTest : public GovernNodeTest {
 protected:
  void SetUp() override {
    GovernNodeTest::SetUp();
    key_file_ = root_ + "/signing.pem";
    other_key_file_ = root_ + "/other-signing.pem";
    key_ = NewKey(key_file_);
    other_key_ = NewKey(other_key_file_);
    Sign(key_file_);
  }

  static std::string NewKey(const std::string& path) {
    SigningKey key = SigningKey::Generate();
    EXPECT_TRUE(key.WriteFile(path).ok()) << path;
    return key.PublicKey();
  }
  // The config with `signing_key_file` (and `extra` in [encryption]).
  void Sign(const std::string& signing_key_file, const std::string& extra = "") {
    WriteConfig("[encryption]\nsigning_key_file = \"" + signing_key_file + "\"\n" + extra);
  }
  std::string ManifestPath(const std::string& id) { return repo_ + "/" + id + "/manifest.toml"; }

  // Rewrites set `id`'s manifest after `edit`, its [checksum] recomputed (ToText), its
  // [signature] kept: what someone who can write to the repository, but has no trusted key,
  // can do.
  template <typename Edit>
  void Tamper(const std::string& id, Edit edit) {
    Result<Manifest> manifest = Manifest::Load(ManifestPath(id));
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    ASSERT_TRUE(manifest->signature.has_value());
    edit(*manifest);
    std::ofstream(ManifestPath(id), std::ios::trunc) << manifest->ToText();
    ASSERT_TRUE(Manifest::Load(ManifestPath(id)).ok()) << "the checksum must still match";
  }

  // verify exits 3 with a finding on set `bad`'s signature whose message names it and says
  // `verdict`; `id` is the set asked for.
  void ExpectVerifyRefuses(const std::string& id, const std::string& bad,
                           const std::string& verdict) {
    JsonRun run = RunJson(config_path_, {"verify", id});
    EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
    EXPECT_TRUE(HasProblem(run.doc, "set " + bad + " signature", "set " + bad)) << run.out;
    EXPECT_TRUE(HasProblem(run.doc, "set " + bad + " signature", verdict)) << run.out;
  }

  // restore exits 4 naming set `bad` and `verdict`, and nothing live changed.
  void ExpectRestoreRefuses(const std::string& id, const std::string& bad,
                            const std::string& verdict) {
    const auto tree = TreeDigest(node_.data_dir, {"run"});
    const auto rows = DatabaseDigest(db_);
    JsonRun run = RunJson(config_path_, {"restore", id, "--yes"});
    EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
    EXPECT_TRUE(HasProblem(run.doc, "set " + id + " signature", "set " + bad)) << run.out;
    EXPECT_TRUE(HasProblem(run.doc, "set " + id + " signature", verdict)) << run.out;
    EXPECT_EQ(TreeDigest(node_.data_dir, {"run"}), tree);
    EXPECT_EQ(DatabaseDigest(db_), rows);
    EXPECT_TRUE(node_.IsRunning());
  }

  std::string key_file_, other_key_file_;
  std::string key_, other_key_;  // public keys
};

TEST_F(SigningTest, BackupSignsAndListShowVerifySayBy) {
  const std::string id = BackupOk();
  const std::string text = ReadWholeFile(ManifestPath(id)).value();
  const std::string table = "\n\n[signature]\npublic_key = \"" + key_ + "\"\nvalue = \"";
  ASSERT_NE(text.find(table), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 2), "\"\n") << "the signature is the last table";
  EXPECT_LT(text.find("\n[checksum]\n"), text.find(table));

  JsonRun list = RunJson(config_path_, {"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  ASSERT_EQ(list.doc["sets"].size(), 1u);
  EXPECT_EQ(list.doc["sets"][0]["signed"], true);
  EXPECT_EQ(list.doc["sets"][0]["signed_by"], key_);
  JsonRun show = RunJson(config_path_, {"show", id});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(show.doc["signed"], true);
  EXPECT_EQ(show.doc["signed_by"], key_);
  CommandResult show_text = Run({"show", id});
  EXPECT_EQ(show_text.out, text);  // the manifest as stored, signature included
  CommandResult list_text = Run({"list"});
  EXPECT_NE(list_text.out.find("SIGNED BY"), std::string::npos) << list_text.out;
  EXPECT_NE(list_text.out.find(key_.substr(0, 16) + "..."), std::string::npos) << list_text.out;

  // A node trusts itself: no trusted_keys needed on the host that signs.
  JsonRun verify = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(verify.doc["sets"][0]["signature"], "valid") << verify.out;
  // A host that holds only the public key (trusted_keys) accepts it too.
  WriteConfig("[encryption]\ntrusted_keys = [\"" + key_ + "\"]\n");
  verify = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(verify.doc["sets"][0]["signature"], "valid") << verify.out;

  // The secret never leaves its file: not in any output, not in any stored byte.
  const std::string pem = ReadWholeFile(key_file_).value();
  const size_t body = pem.find('\n') + 1;
  const std::string secret = pem.substr(body, pem.find('\n', body) - body);
  ASSERT_GT(secret.size(), 40u);
  for (const std::string& output : {list.out, list.err, show.out, show.err, show_text.out,
                                    show_text.err, list_text.out, verify.out, verify.err})
    EXPECT_EQ(output.find(secret), std::string::npos) << output;
  for (const auto& entry : fs::recursive_directory_iterator(repo_)) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(ReadWholeFile(entry.path()).value().find(secret), std::string::npos)
        << entry.path();
  }
}

// A half replaced, and the manifest's sha256 (and checksum) edited to match it: only the
// signature tells.
TEST_F(SigningTest, AManifestAlteredAfterSigningIsRefused) {
  const std::string id = BackupOkInItsOwnSecond();
  const std::string other = BackupOk({"--full"});
  Result<Manifest> donor = Manifest::Load(ManifestPath(other));
  ASSERT_TRUE(donor.ok() && donor->database);
  Tamper(id, [&](Manifest& manifest) {
    fs::copy_file(repo_ + "/" + other + "/" + donor->database->file,
                  repo_ + "/" + id + "/" + manifest.database->file,
                  fs::copy_options::overwrite_existing);
    manifest.database->sha256 = donor->database->sha256;
    manifest.database->bytes = donor->database->bytes;
  });
  ExpectVerifyRefuses(id, id, "altered");
  ExpectRestoreRefuses(id, id, "altered");
  JsonRun verify_other = RunJson(config_path_, {"verify", other});
  EXPECT_EQ(verify_other.exit_code, 0) << verify_other.out;

  // Any byte after the signature is not covered by it: refused as well.
  std::ofstream(ManifestPath(other), std::ios::app) << "# appended\n";
  ExpectVerifyRefuses(other, other, "altered");
}

TEST_F(SigningTest, AnUnsignedSetIsRefusedOnceSigningIsConfigured) {
  WriteConfig();
  const std::string id = BackupOk();
  EXPECT_EQ(ReadWholeFile(ManifestPath(id)).value().find("[signature]"), std::string::npos);
  JsonRun list = RunJson(config_path_, {"list"});
  EXPECT_EQ(list.doc["sets"][0]["signed"], false) << list.out;
  EXPECT_EQ(list.doc["sets"][0]["signed_by"], "") << list.out;
  JsonRun verify = RunJson(config_path_, {"verify", id});  // nothing required: fine
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  Sign(key_file_);
  ExpectVerifyRefuses(id, id, "not signed");
  ExpectRestoreRefuses(id, id, "not signed");
  JsonRun audit = RunJson(config_path_, {"audit", "--quick"});
  EXPECT_EQ(audit.exit_code, 3) << audit.out;
  EXPECT_TRUE(HasProblem(audit.doc, "set " + id + " signature", "not signed")) << audit.out;
}

// Someone who can write to the repository builds a whole set with a signing key of their
// own, encrypted to this node's (public) recipient as this node's sets are: refused.
TEST_F(SigningTest, AWholeSetForgedWithAnotherKeyIsRefused) {
  const std::string identity_file = root_ + "/identity.txt";
  Result<AgeIdentity> identity = GenerateIdentityFile(identity_file);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  const std::string recipients = "recipients = [\"" + identity->Recipient().ToString() + "\"]\n";
  const std::string forger_repo = root_ + "/forger";
  repository_toml_ = "[repository]\npath = \"" + forger_repo + "\"\n\n";
  Sign(other_key_file_, recipients);  // the forger knows the public recipient, not our key
  const std::string id = BackupOk();
  repository_toml_.clear();
  Sign(key_file_, recipients + "identity_file = \"" + identity_file + "\"\n");
  const std::string ours = BackupOk();  // the repository exists, with a set of its own
  fs::copy(forger_repo + "/" + id, repo_ + "/" + id, fs::copy_options::recursive);
  ASSERT_TRUE(Manifest::Load(ManifestPath(id))->encrypted()) << "decryptable with our identity";

  ExpectVerifyRefuses(id, id, other_key_ + ", which is not a trusted key");
  ExpectRestoreRefuses(id, id, "not a trusted key");
  // Nor does extract write a single file of it.
  const std::string out = root_ + "/extracted";
  CommandResult extract = Run({"extract", id, "config", "--to", out});
  EXPECT_EQ(extract.exit_code, 1) << extract.out << extract.err;
  EXPECT_NE(extract.err.find("not a trusted key"), std::string::npos) << extract.err;
  EXPECT_FALSE(fs::exists(out));
  // Nor are its files listed or compared: what a forged index says is not shown as ours.
  CommandResult ls = Run({"ls", id});
  EXPECT_EQ(ls.exit_code, 1) << ls.out << ls.err;
  EXPECT_NE(ls.err.find("not a trusted key"), std::string::npos) << ls.err;
  EXPECT_EQ(ls.out, "");
  for (const auto& [from, to] : {std::pair{ours, id}, std::pair{id, ours}}) {
    CommandResult diff = Run({"diff", from, to});
    EXPECT_EQ(diff.exit_code, 1) << diff.out << diff.err;
    EXPECT_NE(diff.err.find("not a trusted key"), std::string::npos) << diff.err;
    EXPECT_EQ(diff.out, "");
  }
  JsonRun audit = RunJson(config_path_, {"audit", "--quick"});
  EXPECT_EQ(audit.exit_code, 3) << audit.out;
  EXPECT_TRUE(HasProblem(audit.doc, "set " + id + " signature", "not a trusted key")) << audit.out;
  // Trusting the other key explicitly is how an admin accepts it.
  Sign(key_file_, recipients + "identity_file = \"" + identity_file + "\"\ntrusted_keys = [\"" +
                     key_ + "\", \"" + other_key_ + "\"]\n");
  JsonRun verify = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// Every set of a chain is checked: a child whose parent was altered is refused, naming the
// parent.
TEST_F(SigningTest, AChainWithAnAlteredParentIsRefused) {
  const std::string parent = BackupOkInItsOwnSecond();
  const std::string child = BackupOk();
  ASSERT_EQ(Manifest::Load(ManifestPath(child))->parent, parent);
  Tamper(parent, [](Manifest& manifest) { manifest.note = "edited"; });
  ExpectVerifyRefuses(child, parent, "altered");
  JsonRun verify = RunJson(config_path_, {"verify", child});
  EXPECT_TRUE(HasProblem(verify.doc, "set " + child + " chain", parent)) << verify.out;
  ExpectRestoreRefuses(child, parent, "altered");
}

TEST_F(SigningTest, ACopyKeepsTheSignatureValid) {
  const std::string second = root_ + "/second";
  Sign(key_file_, "\n[repositories.second]\npath = \"" + second + "\"\n");
  const std::string id = BackupOk();
  JsonRun copied = RunJson(config_path_, {"copy", "--to", "second"});
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  EXPECT_EQ(ReadWholeFile(second + "/" + id + "/manifest.toml").value(),
            ReadWholeFile(ManifestPath(id)).value());
  JsonRun verify = RunJson(config_path_, {"--repo", "second", "verify", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(verify.doc["sets"][0]["signature"], "valid") << verify.out;
}

// A signing key that cannot be used fails the backup before DSS is touched, naming the file
// and never printing the key.
TEST_F(SigningTest, AnUnsafeOrMissingSigningKeyFailsBackupBeforeDssIsTouched) {
  auto events_now = [this] {
    Result<std::string> text = ReadWholeFile(node_.events_log());
    return text.ok() ? *text : std::string();
  };
  const std::string events = events_now();
  fs::permissions(key_file_, fs::perms::group_read, fs::perm_options::add);
  CommandResult exposed = Run({"backup"});
  EXPECT_EQ(exposed.exit_code, 2) << exposed.err;
  EXPECT_NE(exposed.err.find(key_file_), std::string::npos) << exposed.err;
  EXPECT_NE(exposed.err.find("group or others"), std::string::npos) << exposed.err;
  const std::string pem = ReadWholeFile(key_file_).value();
  EXPECT_EQ(exposed.err.find(pem.substr(pem.find('\n') + 1, 40)), std::string::npos);

  Sign(root_ + "/no-such-key.pem");
  CommandResult missing = Run({"backup"});
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find(root_ + "/no-such-key.pem"), std::string::npos) << missing.err;

  EXPECT_EQ(events_now(), events) << "DSS was touched";
  EXPECT_TRUE(node_.IsRunning());
  EXPECT_TRUE(SetIds().empty());
}

}  // namespace
}  // namespace testing
}  // namespace gb
