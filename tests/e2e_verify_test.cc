// End-to-end tests of `govern-backup verify` on real sets of a generated Govern node: good
// sets pass; every kind of damage (a flipped byte in either half, a truncated half, a missing
// half, a half swapped in from another set, an edited manifest) exits 3 naming the set and the
// half; --deep test-restores, catches a dump that hashes correctly but does not restore, and
// leaves no scratch directory or database behind.
#include <sys/stat.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include <filesystem>
#include <algorithm>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "coordinator/manifest.h"
#include "io/atomic_file.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/planted_archive.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Puts a file back as it was when the object was made.
class Saved {
 public:
  explicit Saved(std::string path) : path_(std::move(path)), bytes_(ReadBytes(path_)) {}
  ~Saved() { WriteBytes(path_, bytes_); }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string path_;
  std::string bytes_;
};

class VerifyTest : public GovernNodeTest {
 protected:
  Manifest Load(const std::string& id) {
    Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    return manifest.ok() ? *manifest : Manifest{};
  }
  std::string DatadirHalf(const std::string& id) { return repo_ + "/" + id + "/" + Load(id).datadir.file; }
  std::string DatabaseHalf(const std::string& id) { return repo_ + "/" + id + "/" + Load(id).database->file; }

  std::vector<std::string> ScratchDatabases() {
    std::vector<std::string> names;
    pqxx::connection admin(SharedCluster().SuperuserParams().WithDatabase("postgres").ConnectionString());
    pqxx::nontransaction work(admin);
    for (const auto& row : work.exec("SELECT datname FROM pg_database WHERE datname LIKE " +
                                     work.quote(dbname_ + "\\_verify\\_%")))
      names.push_back(row[0].c_str());
    return names;
  }
  std::vector<std::string> WorkEntries() {
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(repo_ + "/.work", error))
      names.push_back(entry.path().filename().string());
    return names;
  }
};

// The ids of the sets a verify report covers, in order.
std::vector<std::string> VerifiedIds(const nlohmann::json& doc) {
  std::vector<std::string> ids;
  for (const auto& set : doc.value("sets", nlohmann::json::array())) ids.push_back(set["id"]);
  return ids;
}

TEST_F(VerifyTest, NewestSetByDefaultEverySetWithAllOrThoseNamed) {
  // Full sets: verifying a chain is tested with incremental sets.
  std::string first = BackupOk({"--full"});
  std::string second = BackupOk({"--full"});
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  // Two backups within one second are ordered by their ids' random suffixes.
  std::string older = std::min(first, second);
  std::string newer = std::max(first, second);

  JsonRun newest = RunJson(config_path_, {"verify"});
  EXPECT_EQ(newest.exit_code, 0) << newest.out << newest.err;
  EXPECT_EQ(newest.doc["command"], "verify");
  EXPECT_EQ(newest.doc["ok"], true);
  EXPECT_EQ(VerifiedIds(newest.doc), std::vector<std::string>{newer});
  EXPECT_TRUE(HasOk(newest.doc, "set " + newer, " tables, "));
  EXPECT_GT(newest.doc["sets"][0]["database_tables"].get<int>(), 0) << newest.out;
  EXPECT_EQ(newest.doc["sets"][0]["datadir_files"], Load(newer).datadir.files);

  JsonRun all = RunJson(config_path_, {"verify", "--all"});
  EXPECT_EQ(all.exit_code, 0) << all.out << all.err;
  EXPECT_EQ(VerifiedIds(all.doc), (std::vector<std::string>{older, newer}));

  JsonRun named = RunJson(config_path_, {"verify", older});
  EXPECT_EQ(named.exit_code, 0) << named.out << named.err;
  EXPECT_EQ(VerifiedIds(named.doc), std::vector<std::string>{older});
}

// The text layout itself: "ok    set ID: ..." for a sound set, FAIL and hint lines for a
// damaged one.
TEST_F(VerifyTest, TextLayout) {
  std::string id = BackupOk();
  CommandResult good = Run({"verify", id});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_EQ(good.out.rfind("ok    set " + id + ": data dir ", 0), 0u) << good.out;

  std::string database = DatabaseHalf(id);
  Saved saved(database);
  fs::remove(database);
  CommandResult bad = Run({"verify", id});
  EXPECT_EQ(bad.exit_code, 3) << bad.out << bad.err;
  EXPECT_EQ(bad.out.rfind("FAIL  set " + id + " database half: database half " + database +
                              " is missing\n      hint: ",
                          0),
            0u)
      << bad.out;
}

class VerifyDamageTest;

// One kind of damage done to a set: verify exits 3 with a problem about `part` of the set
// that says `words`; with the damage undone the set verifies again.
struct Damage {
  enum class File { kDatadirHalf, kDatabaseHalf, kManifest };
  std::string name;
  File file;         // the file damaged (and put back afterwards)
  std::string part;  // "data-dir half", "database half", "manifest"
  std::string words;  // in the problem's message
  std::string hint;   // in its hint
  // Damages `path`; may make `words` more precise.
  std::function<void(VerifyDamageTest& test, const std::string& path, std::string* words)> harm;
};
void PrintTo(const Damage& damage, std::ostream* out) { *out << damage.name; }

class VerifyDamageTest : public VerifyTest, public ::testing::WithParamInterface<Damage> {
 public:
  std::string PathOf(Damage::File file, const std::string& id) {
    switch (file) {
      case Damage::File::kDatadirHalf: return DatadirHalf(id);
      case Damage::File::kDatabaseHalf: return DatabaseHalf(id);
      case Damage::File::kManifest: break;
    }
    return repo_ + "/" + id + "/manifest.toml";
  }
  std::string AnotherSet() { return BackupOk({"--full"}); }
};

void FlipMiddleByte(const std::string& path, char mask) {
  std::string bytes = ReadBytes(path);
  bytes[bytes.size() / 2] ^= mask;
  WriteBytes(path, bytes);
}

TEST_P(VerifyDamageTest, IsNamedWithTheSetAndThePart) {
  const Damage& damage = GetParam();
  std::string id = BackupOk();
  ASSERT_FALSE(id.empty());
  std::string path = PathOf(damage.file, id);
  {
    Saved saved(path);
    std::string words = damage.words;
    damage.harm(*this, path, &words);
    JsonRun run = RunJson(config_path_, {"verify", id});
    EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
    EXPECT_EQ(run.doc["ok"], false);
    EXPECT_EQ(run.doc["sets"][0]["ok"], false);
    EXPECT_TRUE(HasProblem(run.doc, "set " + id + " " + damage.part, words, damage.hint));
  }
  JsonRun again = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

std::vector<Damage> Damages() {
  using File = Damage::File;
  return {
      {"FlippedByteInTheDatadirHalf", File::kDatadirHalf, "data-dir half", "", "the half is damaged",
       [](VerifyDamageTest&, const std::string& path, std::string*) { FlipMiddleByte(path, 0x01); }},
      {"FlippedByteInTheDatabaseHalf", File::kDatabaseHalf, "database half", "", "the half is damaged",
       [](VerifyDamageTest&, const std::string& path, std::string*) { FlipMiddleByte(path, 0x40); }},
      {"FlippedByteInTheEmbeddedPairToken", File::kDatabaseHalf, "database half",
       "belongs to another set", "",
       [](VerifyDamageTest&, const std::string& path, std::string*) {
         std::string bytes = ReadBytes(path);
         size_t token = bytes.find("pair_token = \"");
         ASSERT_NE(token, std::string::npos);
         char& digit = bytes[token + 14];
         digit = digit == '0' ? '1' : '0';
         WriteBytes(path, bytes);
       }},
      {"TruncatedHalf", File::kDatadirHalf, "data-dir half", "(truncated?)", "",
       [](VerifyDamageTest&, const std::string& path, std::string*) {
         std::string bytes = ReadBytes(path);
         WriteBytes(path, bytes.substr(0, bytes.size() - 1000));
       }},
      {"MissingHalf", File::kDatabaseHalf, "database half", "is missing", "",
       [](VerifyDamageTest&, const std::string& path, std::string*) { fs::remove(path); }},
      {"HalfSwappedInFromAnotherSet", File::kDatabaseHalf, "database half", "", "",
       [](VerifyDamageTest& test, const std::string& path, std::string* words) {
         std::string other = test.AnotherSet();
         WriteBytes(path, ReadBytes(test.PathOf(Damage::File::kDatabaseHalf, other)));
         *words = "of set " + other + ": it belongs to another set";
       }},
      {"ManifestEditedByHand", File::kManifest, "manifest", "does not match its own checksum", "",
       [](VerifyDamageTest&, const std::string& path, std::string*) {
         std::string text = ReadBytes(path);
         size_t at = text.find("bytes = ");
         ASSERT_NE(at, std::string::npos);
         text.insert(at + 8, "1");
         WriteBytes(path, text);
       }},
  };
}

INSTANTIATE_TEST_SUITE_P(EveryKind, VerifyDamageTest, ::testing::ValuesIn(Damages()),
                         [](const ::testing::TestParamInfo<Damage>& info) { return info.param.name; });

TEST_F(VerifyTest, AnUnknownSetIsAProblemAboutItsManifest) {
  JsonRun run = RunJson(config_path_, {"verify", "20200101T000000Z-000000"});
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  EXPECT_TRUE(HasProblem(run.doc, "set 20200101T000000Z-000000 manifest", "no backup set"));
}

TEST_F(VerifyTest, AllReportsEverySetAndWhichOneFailed) {
  std::string first = BackupOk({"--full"});
  std::string second = BackupOk({"--full"});
  std::string older = std::min(first, second);
  std::string newer = std::max(first, second);
  fs::remove(DatadirHalf(older));
  JsonRun run = RunJson(config_path_, {"verify", "--all"});
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  EXPECT_EQ(run.doc["ok"], false);
  ASSERT_EQ(run.doc["sets"].size(), 2u) << run.out;
  EXPECT_EQ(run.doc["sets"][0]["ok"], false);
  EXPECT_EQ(run.doc["sets"][1]["ok"], true);
  EXPECT_TRUE(HasProblem(run.doc, "set " + older + " data-dir half", "is missing"));
  EXPECT_TRUE(HasOk(run.doc, "set " + newer));
  EXPECT_EQ(Problems(run.doc).size(), 1u) << run.out;
}

TEST_F(VerifyTest, DeepTestRestoresAndCleansUp) {
  std::string id = BackupOk();
  JsonRun deep = RunJson(config_path_, {"verify", "--deep", id});
  EXPECT_EQ(deep.exit_code, 0) << deep.out << deep.err;
  EXPECT_EQ(deep.doc["sets"][0]["deep"], true);
  EXPECT_TRUE(HasOk(deep.doc, "set " + id, "test-restored"));
  EXPECT_TRUE(WorkEntries().empty());
  EXPECT_TRUE(ScratchDatabases().empty());
}

TEST_F(VerifyTest, DeepCatchesADumpThatHashesCorrectlyButDoesNotRestore) {
  // The dump grants a privilege to a role that is gone by restore time: pg_restore -l reads
  // the dump, every hash matches, but pg_restore --exit-on-error fails on the GRANT.
  std::string ghost = dbname_ + "_ghost";
  Sql(SharedCluster().SuperuserParams().WithDatabase(dbname_), "CREATE ROLE " + ghost);
  Sql(db_, "CREATE TABLE verify_probe (id int); INSERT INTO verify_probe VALUES (1);"
           "GRANT SELECT ON verify_probe TO " + ghost);
  std::string id = BackupOk();
  Sql(SharedCluster().SuperuserParams().WithDatabase(dbname_),
      "REVOKE ALL ON verify_probe FROM " + ghost + "; DROP ROLE " + ghost);

  JsonRun quick = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(quick.exit_code, 0) << quick.out << quick.err;

  JsonRun deep = RunJson(config_path_, {"verify", "--deep", id});
  EXPECT_EQ(deep.exit_code, 3) << deep.out << deep.err;
  EXPECT_TRUE(HasProblem(deep.doc, "set " + id + " database half", "does not restore"));
  EXPECT_TRUE(WorkEntries().empty());
  EXPECT_TRUE(ScratchDatabases().empty());
}

// An archive whose extraction lands one entry fewer than it holds (a directory member given
// twice): the scan and the hashes agree with the manifest, restore's staging count would
// refuse it, and so must verify --deep (it used to allow one entry too few).
TEST_F(VerifyTest, DeepDemandsTheExactEntryCountRestoreDemands) {
  std::string id = BackupOk();
  PlantArchive(repo_ + "/" + id, {{"config", AE_IFDIR, ""}});
  JsonRun quick = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(quick.exit_code, 0) << quick.out << quick.err;

  JsonRun deep = RunJson(config_path_, {"verify", "--deep", id});
  EXPECT_EQ(deep.exit_code, 3) << deep.out << deep.err;
  EXPECT_TRUE(HasProblem(deep.doc, "set " + id + " data-dir half", "gave 2 entries on disk"))
      << deep.out;
  EXPECT_TRUE(WorkEntries().empty());
  EXPECT_TRUE(ScratchDatabases().empty());
}

TEST_F(VerifyTest, NothingToVerifyIsAProblem) {
  CommandResult result = Run({"verify"});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_NE(result.err.find("no complete backup set"), std::string::npos) << result.err;
  JsonRun json = RunJson(config_path_, {"verify"});
  EXPECT_EQ(json.exit_code, 3) << json.out << json.err;
  EXPECT_TRUE(HasProblem(json.doc, "repository", "no complete backup set"));
  EXPECT_EQ(json.doc["sets"], nlohmann::json::array());
}

}  // namespace
}  // namespace testing
}  // namespace gb
