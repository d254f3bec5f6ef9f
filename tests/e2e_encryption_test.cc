// Encrypted sets in a local repository ([encryption] recipients): every stored byte but the
// manifest is age ciphertext (no file name, file content or database row of the node in any
// object); a full set and a chain taken on a host holding only the public key (the chain from
// the host's index cache), restored with the identity; verify and audit --quick pair halves
// by their age pair stanzas without any key; restore, verify --deep and extract without the
// identity or with the wrong one refuse clearly (exit 4 / 3 / 1) and touch nothing; a damaged
// encrypted half is refused before anything live is touched; the halves decrypt by hand with
// Debian's age, and a half re-encrypted by age decrypts with ours; copy moves ciphertext
// without any key.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "coordinator/manifest.h"
#include "io/age_keys.h"
#include "io/age_stream.h"
#include "io/files.h"
#include "io/sha256.h"
#include "io/subprocess.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/restore_skips.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

// Distinctive bytes of the node that must never appear in the repository in clear.
constexpr char kSecretDir[] = "config/projects/ZEBRAQUARTZ7731";
constexpr char kSecretFile[] = "config/projects/ZEBRAQUARTZ7731/OKAPI-LANTERN-params.json";
constexpr char kSecretContent[] = "MARKER-CONTENT-PLUM-4417 the password is hunter2\n";
constexpr char kOtherFile[] = "config/SAFFRON-WHISTLE-9023.txt";
constexpr char kOtherContent[] = "SECRET-CONTENT-MAGENTA-5150\n";
constexpr char kSecretRow[] = "ROW-MARKER-VERMILION-5581";

class EncryptionTest : public GovernNodeTest {
 protected:
  void SetUp() override {
    GovernNodeTest::SetUp();
    if (HasFatalFailure()) return;
    identity_file_ = WriteIdentity("identity.txt", &recipient_);
    std::string other_recipient;
    wrong_identity_file_ = WriteIdentity("wrong.txt", &other_recipient);
    cache_dir_ = root_ + "/cache";
    fs::create_directories(node_.data_dir + "/" + kSecretDir);
    ASSERT_TRUE(WriteFile(node_.data_dir + "/" + kSecretFile, kSecretContent, 0644).ok());
    ASSERT_TRUE(WriteFile(node_.data_dir + "/" + kOtherFile, kOtherContent, 0644).ok());
    Sql(db_, std::string("CREATE TABLE probe_rows (v text); INSERT INTO probe_rows VALUES ('") +
                 kSecretRow + "')");
    UseKeys(Keys::kPublicOnly);
  }

  std::string WriteIdentity(const std::string& name, std::string* recipient) {
    const AgeIdentity identity = AgeIdentity::Generate();
    *recipient = identity.Recipient().ToString();
    const std::string path = root_ + "/" + name;
    EXPECT_TRUE(WriteFile(path, "# public key: " + *recipient + "\n" + identity.ToString() + "\n",
                          0600)
                    .ok());
    return path;
  }

  enum class Keys { kPublicOnly, kIdentity, kWrongIdentity };
  std::string KeysToml(Keys keys) const {
    std::string toml = "[backup]\ncache_dir = \"" + cache_dir_ + "\"\n\n[encryption]\n" +
                       "recipients = [\"" + recipient_ + "\"]\n";
    if (keys == Keys::kIdentity) toml += "identity_file = \"" + identity_file_ + "\"\n";
    if (keys == Keys::kWrongIdentity) toml += "identity_file = \"" + wrong_identity_file_ + "\"\n";
    return toml;
  }
  void UseKeys(Keys keys, const std::string& extra = "") { WriteConfig(KeysToml(keys) + extra); }

  Manifest Load(const std::string& id) {
    Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    return manifest.ok() ? *manifest : Manifest();
  }

  // No marker in any byte of any file of `dir`.
  void ExpectNoPlaintextIn(const std::string& dir) {
    const std::vector<std::string> markers = {"ZEBRAQUARTZ7731", "OKAPI-LANTERN",
                                              "SAFFRON-WHISTLE", "MARKER-CONTENT-PLUM",
                                              "SECRET-CONTENT-MAGENTA", kSecretRow};
    int scanned = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      ++scanned;
      Result<std::string> bytes = ReadWholeFile(entry.path().string());
      ASSERT_TRUE(bytes.ok());
      for (const std::string& marker : markers)
        EXPECT_EQ(bytes->find(marker), std::string::npos) << marker << " in " << entry.path();
    }
    EXPECT_GE(scanned, 4);
  }

  // Runs a shell pipeline; its exit code.
  int Shell(const std::string& script, std::string* out = nullptr) {
    SubprocessOptions options;
    options.argv = {"/bin/bash", "-c", "set -o pipefail; " + script};
    options.timeout = std::chrono::minutes(2);
    Result<ExitInfo> exit = RunSubprocess(options);
    EXPECT_TRUE(exit.ok()) << exit.status().ToString();
    if (!exit.ok()) return -1;
    if (out) *out = exit->stdout_text;
    EXPECT_EQ(exit->exit_code, 0) << script << "\n" << exit->stderr_text;
    return exit->exit_code;
  }

  // Restores `id` beside the node; checks the tree and the database are `tree` and `rows`.
  void RestoreBeside(const std::string& id, const std::map<std::string, std::string>& tree,
                     const std::map<std::string, std::string>& rows,
                     const std::vector<std::string>& extra = {}) {
    SCOPED_TRACE("restore of set " + id);
    const std::string target = root_ + "/restored-" + id;
    const std::string dbname = dbname_ + "_r" + id.substr(id.size() - 6);
    std::vector<std::string> args = extra;
    args.insert(args.end(), {"restore", id, "--data-dir", target, "--dbname", dbname, "--yes"});
    JsonRun restore = RunJson(config_path_, args);
    ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
    EXPECT_EQ(TreeDigest(target, SkippedByRestore()), tree);
    EXPECT_EQ(DatabaseDigest(db_.WithDatabase(dbname)), rows);
  }

  // The node's data dir and database stay as they are while `command` fails with `exit_code`
  // and says `words`.
  void ExpectRefusedUntouched(const std::vector<std::string>& command, int exit_code,
                              const std::string& words) {
    SCOPED_TRACE(command[0]);
    const auto tree = TreeDigest(node_.data_dir, SkippedByRestore());
    const auto rows = DatabaseDigest(db_);
    CommandResult run = Run(command);
    EXPECT_EQ(run.exit_code, exit_code) << run.out << run.err;
    EXPECT_NE((run.out + run.err).find(words), std::string::npos) << run.out << run.err;
    EXPECT_EQ(TreeDigest(node_.data_dir, SkippedByRestore()), tree);
    EXPECT_EQ(DatabaseDigest(db_), rows);
    for (const auto& entry : fs::directory_iterator(fs::path(node_.data_dir).parent_path()))
      EXPECT_EQ(entry.path().filename().string().find(".pre-restore-"), std::string::npos)
          << entry.path();
  }

  std::string HalfPath(const std::string& id, const std::string& suffix) const {
    return repo_ + "/" + id + "/" + id + suffix;
  }

  std::string recipient_;
  std::string identity_file_;
  std::string wrong_identity_file_;
  std::string cache_dir_;
};

TEST_F(EncryptionTest, ChainOnAPublicKeyHostRestoresWithTheIdentityAndStoresNoPlaintext) {
  // A backup host with the public key only: the chain builds on the index cache.
  const std::string full = BackupOkInItsOwnSecond();
  const auto tree_full = TreeDigest(node_.data_dir, SkippedByRestore());
  const auto rows_full = DatabaseDigest(db_);
  ASSERT_TRUE(WriteFile(node_.data_dir + "/" + kOtherFile, "changed once\n", 0644).ok());
  const std::string second = BackupOkInItsOwnSecond();
  ASSERT_TRUE(WriteFile(node_.data_dir + "/config/added-later.txt", "new\n", 0644).ok());
  Sql(db_, "INSERT INTO probe_rows VALUES ('later')");
  const std::string third = BackupOkInItsOwnSecond();
  const auto tree_third = TreeDigest(node_.data_dir, SkippedByRestore());
  const auto rows_third = DatabaseDigest(db_);

  for (const std::string& id : {full, second, third}) {
    const Manifest manifest = Load(id);
    EXPECT_EQ(manifest.type, id == full ? SetType::kFull : SetType::kIncremental) << id;
    EXPECT_EQ(manifest.recipients, std::vector<std::string>{recipient_});
    EXPECT_TRUE(manifest.datadir.encrypted && manifest.database->encrypted &&
                manifest.index->encrypted);
    EXPECT_EQ(Sha256::OfFile(HalfPath(id, ".datadir.tar.zst")).value(), manifest.datadir.sha256);
    EXPECT_TRUE(fs::exists(cache_dir_)) << "no index cache";
  }
  ExpectNoPlaintextIn(repo_);
  // The cache holds the indexes in clear, only of sets that exist, owner only.
  int copies = 0;
  for (const auto& folder : fs::directory_iterator(cache_dir_)) {
    EXPECT_EQ(fs::status(folder).permissions() & fs::perms::all, fs::perms::owner_all);
    for (const auto& copy : fs::directory_iterator(folder)) {
      ++copies;
      EXPECT_EQ(fs::status(copy).permissions() & fs::perms::all,
                fs::perms::owner_read | fs::perms::owner_write);
    }
  }
  EXPECT_EQ(copies, 3);

  // verify without any identity: stanzas pair the halves, stored bytes match the manifest.
  JsonRun verify = RunJson(config_path_, {"verify", "--all"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  JsonRun audit = RunJson(config_path_, {"audit", "--quick"});
  EXPECT_TRUE(Problems(audit.doc).empty()) << audit.out;

  // No identity, the wrong one: refused, nothing touched.
  ExpectRefusedUntouched({"restore", third, "--yes"}, 4, "identity_file");
  ExpectRefusedUntouched({"verify", "--deep", third}, 3, "identity_file");
  ExpectRefusedUntouched({"extract", third, kOtherFile, "--to", root_ + "/x1"}, 1,
                         "identity_file");
  ExpectRefusedUntouched({"ls", third}, 1, "identity_file");
  ExpectRefusedUntouched({"diff", full, third}, 1, "identity_file");
  UseKeys(Keys::kWrongIdentity);
  const std::string no_match = "no identity in " + wrong_identity_file_ +
                               " matches the recipients of set ";
  ExpectRefusedUntouched({"restore", third, "--yes"}, 4, no_match);
  ExpectRefusedUntouched({"extract", third, kOtherFile, "--to", root_ + "/x2"}, 1, no_match);

  // With the identity: each set restores exactly; extract reaches into the full set.
  UseKeys(Keys::kIdentity);
  RestoreBeside(full, tree_full, rows_full);
  RestoreBeside(third, tree_third, rows_third);
  JsonRun extract = RunJson(config_path_, {"extract", third, kSecretFile, "--to", root_ + "/x3"});
  ASSERT_EQ(extract.exit_code, 0) << extract.out << extract.err;
  EXPECT_EQ(ReadWholeFile(root_ + "/x3/" + kSecretFile).value(), kSecretContent);
  JsonRun deep = RunJson(config_path_, {"verify", "--deep", third});
  EXPECT_EQ(deep.exit_code, 0) << deep.out << deep.err;

  // Without the cache (and without the identity) the next set is full, and says why.
  UseKeys(Keys::kPublicOnly);
  fs::remove_all(cache_dir_);
  CommandResult fallback = Run({"backup"});
  ASSERT_EQ(fallback.exit_code, 0) << fallback.err;
  std::string id = fallback.out.substr(0, fallback.out.find('\n'));
  EXPECT_EQ(Load(id).type, SetType::kFull);
  EXPECT_NE(fallback.err.find("identity_file"), std::string::npos) << fallback.err;
}

// prune removes the host's plaintext copy of each index whose set it removes, and only those.
TEST_F(EncryptionTest, PruneDropsTheIndexCopiesOfTheSetsItRemoves) {
  const std::string older = BackupOkInItsOwnSecond({"--full"});
  const std::string newer = BackupOkInItsOwnSecond({"--full"});
  const auto copies = [this] {
    std::vector<std::string> names;
    for (const auto& folder : fs::directory_iterator(cache_dir_))
      for (const auto& copy : fs::directory_iterator(folder))
        names.push_back(copy.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  ASSERT_EQ(copies(), (std::vector<std::string>{older + ".index.zst", newer + ".index.zst"}));
  UseKeys(Keys::kPublicOnly, "[retention]\nkeep_last = 1\nkeep_daily = 0\nkeep_weekly = 0\n"
                             "keep_monthly = 0\nkeep_within = \"0s\"\n");
  CommandResult dry = Run({"prune", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_EQ(copies().size(), 2u) << "a dry run removes nothing";
  CommandResult pruned = Run({"prune"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  EXPECT_FALSE(fs::exists(repo_ + "/" + older));
  EXPECT_EQ(copies(), std::vector<std::string>{newer + ".index.zst"});
}

// The restore host's identity file protected with a passphrase (what `age-keygen | age -p`
// writes: the key file encrypted to an scrypt recipient), its passphrase in passphrase_file.
TEST_F(EncryptionTest, APassphraseProtectedIdentityRestoresWithItsPassphraseFile) {
  const std::string id = BackupOkInItsOwnSecond();
  const auto tree = TreeDigest(node_.data_dir, SkippedByRestore());
  const auto rows = DatabaseDigest(db_);
  AgeEncryptOptions options;
  options.recipients = {AgeRecipient::Passphrase("correct horse battery", 10)};
  Result<std::string> protected_key =
      AgeEncryptString(ReadWholeFile(identity_file_).value(), options);
  ASSERT_TRUE(protected_key.ok()) << protected_key.status().ToString();
  const std::string key_file = root_ + "/identity.age";
  const std::string passphrase_file = root_ + "/passphrase";
  ASSERT_TRUE(WriteFile(key_file, *protected_key, 0600).ok());
  const std::string keys = "[backup]\ncache_dir = \"" + cache_dir_ +
                           "\"\n\n[encryption]\nrecipients = [\"" + recipient_ +
                           "\"]\nidentity_file = \"" + key_file + "\"\npassphrase_file = \"" +
                           passphrase_file + "\"\n";
  WriteConfig(keys);
  ASSERT_TRUE(WriteFile(passphrase_file, "not the passphrase\n", 0600).ok());
  ExpectRefusedUntouched({"restore", id, "--yes"}, 4, key_file);
  ASSERT_TRUE(WriteFile(passphrase_file, "correct horse battery\n", 0600).ok());
  RestoreBeside(id, tree, rows);
}

TEST_F(EncryptionTest, HalvesDecryptByHandWithAgeAndAgeEncryptedHalvesDecryptWithOurs) {
  const std::string id = BackupOkInItsOwnSecond();
  const std::string out = root_ + "/by-hand";
  fs::create_directories(out);
  Shell("age -d -i " + identity_file_ + " " + HalfPath(id, ".datadir.tar.zst") +
        " | zstd -dc | tar -x -C " + out);
  EXPECT_EQ(ReadWholeFile(out + "/" + kSecretFile).value(), kSecretContent);
  std::string sql;
  Shell("age -d -i " + identity_file_ + " " + HalfPath(id, ".database.dump.zst") +
            " | zstd -dc | " + SharedCluster().bin_dir() + "/pg_restore -f -",
        &sql);
  EXPECT_NE(sql.find(kSecretRow), std::string::npos);

  // The other way: the database half as age itself encrypts it (no pair stanza). The
  // manifest is told its new size and hash, as an admin re-encrypting by hand would have to.
  const std::string half = HalfPath(id, ".database.dump.zst");
  Shell("age -d -i " + identity_file_ + " " + half + " | age -r " + recipient_ + " -o " + half +
        ".new && mv " + half + ".new " + half);
  Manifest manifest = Load(id);
  manifest.database->bytes = fs::file_size(half);
  manifest.database->sha256 = Sha256::OfFile(half).value();
  ASSERT_TRUE(WriteFile(repo_ + "/" + id + "/manifest.toml", manifest.ToText(), 0600).ok());
  const auto rows = DatabaseDigest(db_);
  const auto tree = TreeDigest(node_.data_dir, SkippedByRestore());
  UseKeys(Keys::kIdentity);
  JsonRun verify = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  RestoreBeside(id, tree, rows);
}

// The README's by-hand restore of a chain, with age in front of zstd.
TEST_F(EncryptionTest, AChainRestoresByHandWithAgeInFront) {
  const std::string full = BackupOkInItsOwnSecond();
  ASSERT_TRUE(WriteFile(node_.data_dir + "/" + kOtherFile, "changed\n", 0644).ok());
  fs::remove(node_.data_dir + "/" + kSecretFile);
  ASSERT_TRUE(WriteFile(node_.data_dir + "/config/added.txt", "added\n", 0644).ok());
  const std::string child = BackupOkInItsOwnSecond();
  ASSERT_EQ(Load(child).type, SetType::kIncremental);
  std::vector<std::string> skip = SkippedByRestore();
  const auto tree = TreeDigest(node_.data_dir, skip);

  const std::string out = root_ + "/by-hand";
  fs::create_directories(out);
  Shell("cd " + out + " && for id in " + full + " " + child + "; do age -d -i " +
        identity_file_ + " " + repo_ + "/$id/$id.datadir.tar.zst | zstd -dc | tar --xattrs "
        "--xattrs-include='*' --acls -xp --recursive-unlink -f - && xargs -0 rm -rf -- < "
        ".govern-backup/vanished; done && rm -rf .govern-backup");
  EXPECT_FALSE(fs::exists(out + "/" + kSecretFile));
  EXPECT_EQ(ReadWholeFile(out + "/" + kOtherFile).value(), "changed\n");
  // Folders' times are not compared by TreeDigest; every file, link and mode is.
  EXPECT_EQ(TreeDigest(out, skip), tree);
}

TEST_F(EncryptionTest, DamagedOrSwappedHalvesAreRefusedBeforeAnythingLiveIsTouched) {
  const std::string first = BackupOkInItsOwnSecond();
  const std::string second = BackupOkInItsOwnSecond({"--full"});
  const std::string half = HalfPath(second, ".datadir.tar.zst");
  const std::string kept = root_ + "/kept-half";
  fs::copy_file(half, kept);
  UseKeys(Keys::kIdentity);

  // One flipped byte in the middle of the encrypted half.
  std::string bytes = ReadWholeFile(kept).value();
  bytes[bytes.size() / 2] ^= 0x01;
  ASSERT_TRUE(WriteFile(half, bytes, 0600).ok());
  JsonRun verify = RunJson(config_path_, {"verify", second});
  EXPECT_EQ(verify.exit_code, 3) << verify.out;
  EXPECT_TRUE(HasProblem(verify.doc, "set " + second + " data-dir half", "")) << verify.out;
  ExpectRefusedUntouched({"restore", second, "--yes"}, 4, second);

  // Truncated by one age chunk and a bit.
  ASSERT_TRUE(WriteFile(half, ReadWholeFile(kept).value().substr(0, bytes.size() - 70000), 0600)
                  .ok());
  verify = RunJson(config_path_, {"verify", second});
  EXPECT_EQ(verify.exit_code, 3) << verify.out;
  ExpectRefusedUntouched({"restore", second, "--yes"}, 4, second);

  // The first set's database half in the second set: found from the stanzas, no key needed.
  fs::copy_file(kept, half, fs::copy_options::overwrite_existing);
  fs::copy_file(HalfPath(first, ".database.dump.zst"), HalfPath(second, ".database.dump.zst"),
                fs::copy_options::overwrite_existing);
  UseKeys(Keys::kPublicOnly);
  verify = RunJson(config_path_, {"verify", second});
  EXPECT_EQ(verify.exit_code, 3) << verify.out;
  EXPECT_TRUE(HasProblem(verify.doc, "set " + second + " database half", first)) << verify.out;
  JsonRun audit = RunJson(config_path_, {"audit", "--quick"});
  EXPECT_TRUE(HasProblem(audit.doc, "set " + second + " database half", first)) << audit.out;
}

TEST_F(EncryptionTest, CopyMovesCiphertextWithoutAnyKey) {
  const std::string second_repo = root_ + "/second";
  const std::string second_table = "[repositories.second]\npath = \"" + second_repo + "\"\n";
  const std::string first = BackupOkInItsOwnSecond();
  ASSERT_TRUE(WriteFile(node_.data_dir + "/" + kOtherFile, "changed\n", 0644).ok());
  const std::string child = BackupOkInItsOwnSecond();
  const auto tree = TreeDigest(node_.data_dir, SkippedByRestore());
  const auto rows = DatabaseDigest(db_);
  ASSERT_EQ(Load(child).type, SetType::kIncremental);

  // No [encryption] at all on the copying host.
  WriteConfig(second_table);
  JsonRun copied = RunJson(config_path_, {"copy", "--to", "second"});
  ASSERT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  ExpectNoPlaintextIn(second_repo);
  EXPECT_EQ(Sha256::OfFile(second_repo + "/" + child + "/" + child + ".datadir.tar.zst").value(),
            Load(child).datadir.sha256);

  UseKeys(Keys::kIdentity, second_table);
  RestoreBeside(child, tree, rows, {"--repo", "second"});
}

}  // namespace
}  // namespace testing
}  // namespace gb
