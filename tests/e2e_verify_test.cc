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

#include <gtest/gtest.h>

#include "coordinator/manifest.h"
#include "io/atomic_file.h"
#include "tests/support/govern_fixture.h"

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

  // verify exits 3 and names the set and the half on a FAIL line.
  void ExpectFailure(const std::string& id, const std::string& half, const std::string& words) {
    CommandResult result = Run({"verify", id});
    EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
    EXPECT_NE(result.out.find("FAIL " + id + "  " + half + ": "), std::string::npos) << result.out;
    EXPECT_NE(result.out.find(words), std::string::npos) << result.out;
  }

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

TEST_F(VerifyTest, GoodSetsPassAndEveryDamageIsNamed) {
  std::string first = BackupOk();
  std::string second = BackupOk();
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  // Two backups within one second are ordered by their ids' random suffixes.
  std::string older = std::min(first, second);
  std::string newer = std::max(first, second);

  // Default: the newest set; --all: every set; ids: those.
  CommandResult newest = Run({"verify"});
  EXPECT_EQ(newest.exit_code, 0) << newest.out << newest.err;
  EXPECT_NE(newest.out.find("ok   " + newer + "  (data dir "), std::string::npos) << newest.out;
  EXPECT_EQ(newest.out.find(older), std::string::npos) << newest.out;
  CommandResult all = Run({"verify", "--all"});
  EXPECT_EQ(all.exit_code, 0) << all.out << all.err;
  EXPECT_NE(all.out.find("ok   " + older), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("ok   " + newer), std::string::npos) << all.out;
  EXPECT_NE(all.out.find(" tables, "), std::string::npos) << all.out;

  std::string datadir = DatadirHalf(older);
  std::string database = DatabaseHalf(older);
  std::string manifest = repo_ + "/" + older + "/manifest.toml";

  {  // One byte flipped in the middle of the data-dir half.
    Saved saved(datadir);
    std::string bytes = saved.bytes();
    bytes[bytes.size() / 2] ^= 0x01;
    WriteBytes(datadir, bytes);
    ExpectFailure(older, "datadir", "the half is damaged");
  }
  {  // One byte flipped in the database half.
    Saved saved(database);
    std::string bytes = saved.bytes();
    bytes[bytes.size() / 2] ^= 0x40;
    WriteBytes(database, bytes);
    ExpectFailure(older, "database", "the half is damaged");
  }
  {  // One byte flipped inside the embedded pair identity (the leading skippable frame).
    Saved saved(database);
    std::string bytes = saved.bytes();
    size_t token = bytes.find("pair_token = \"");
    ASSERT_NE(token, std::string::npos);
    char& digit = bytes[token + 14];
    digit = digit == '0' ? '1' : '0';
    WriteBytes(database, bytes);
    ExpectFailure(older, "database", "belongs to another set");
  }
  {  // A truncated half.
    Saved saved(datadir);
    WriteBytes(datadir, saved.bytes().substr(0, saved.bytes().size() - 1000));
    ExpectFailure(older, "datadir", "(truncated?)");
  }
  {  // A missing half.
    Saved saved(database);
    fs::remove(database);
    ExpectFailure(older, "database", "is missing");
  }
  {  // The newer set's database half put in place of the older one's.
    Saved saved(database);
    WriteBytes(database, ReadBytes(DatabaseHalf(newer)));
    ExpectFailure(older, "database", "of set " + newer + ": it belongs to another set");
  }
  {  // An edited manifest (a size changed by hand).
    Saved saved(manifest);
    std::string text = saved.bytes();
    size_t at = text.find("bytes = ");
    ASSERT_NE(at, std::string::npos);
    text.insert(at + 8, "1");
    WriteBytes(manifest, text);
    ExpectFailure(older, "manifest", "does not match its own checksum");
  }

  // Everything put back: good again; the failures did not change the sets.
  CommandResult again = Run({"verify", older, newer});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;

  // A set that does not exist, and --json.
  CommandResult unknown = Run({"verify", "20200101T000000Z-000000"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.out << unknown.err;
  EXPECT_NE(unknown.out.find("FAIL 20200101T000000Z-000000  manifest: no backup set"), std::string::npos)
      << unknown.out;
  {
    Saved saved(datadir);
    fs::remove(datadir);
    CommandResult json = Run({"--json", "verify", "--all"});
    EXPECT_EQ(json.exit_code, 3);
    EXPECT_EQ(json.out.find("FAIL"), std::string::npos) << json.out;
    EXPECT_NE(json.out.find("\"ok\":false"), std::string::npos) << json.out;
    EXPECT_NE(json.out.find("\"half\":\"datadir\""), std::string::npos) << json.out;
  }
}

TEST_F(VerifyTest, DeepTestRestoresAndCleansUp) {
  std::string id = BackupOk();
  CommandResult deep = Run({"verify", "--deep", id});
  EXPECT_EQ(deep.exit_code, 0) << deep.out << deep.err;
  EXPECT_NE(deep.out.find("ok   " + id), std::string::npos) << deep.out;
  EXPECT_NE(deep.out.find("test-restored"), std::string::npos) << deep.out;
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

  CommandResult quick = Run({"verify", id});
  EXPECT_EQ(quick.exit_code, 0) << quick.out << quick.err;

  CommandResult deep = Run({"verify", "--deep", id});
  EXPECT_EQ(deep.exit_code, 3) << deep.out << deep.err;
  EXPECT_NE(deep.out.find("FAIL " + id + "  database: "), std::string::npos) << deep.out;
  EXPECT_NE(deep.out.find("does not restore"), std::string::npos) << deep.out;
  EXPECT_TRUE(WorkEntries().empty());
  EXPECT_TRUE(ScratchDatabases().empty());
}

TEST_F(VerifyTest, NothingToVerifyIsAProblem) {
  CommandResult result = Run({"verify"});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_NE(result.err.find("no complete backup set"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace testing
}  // namespace gb
