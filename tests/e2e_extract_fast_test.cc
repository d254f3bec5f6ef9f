// `ls` and `extract` read the set's index only as far as the paths they name (they stop
// decompressing once past them) but still hash all of it: a set whose index is damaged after
// the named entries (one byte flipped near the end of the stored object, nothing else
// rewritten) is refused as damaged, with --to DIR left as it was (absent, or empty), whether
// the index is plain zstd or age-encrypted. Undamaged, the same commands give the file, and
// name a path that is absent from the set, early or late in the index's order (also one
// that is not valid UTF-8, which used to abort the tool).
#include <fcntl.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "io/age_keys.h"
#include "io/files.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

// Early in the index's order: everything under kBulk sorts after it.
constexpr char kFile[] = "config/general-settings.json";
constexpr char kBulk[] = "config/zz-bulk";
// ~800 KB of index lines, more than one read of the reader; and more entries than extract
// keeps from its plan for the metadata step (set_tree.cc): extracting kBulk reads it again.
constexpr int kBulkFiles = 4200;
constexpr time_t kBulkMtime = 1000000000;  // 2001: the folder's, as extract must restore it

class ExtractFastTest : public GovernNodeTest {
 protected:
  void SetUp() override {
    GovernNodeTest::SetUp();
    if (HasFatalFailure()) return;
    fs::create_directories(node_.data_dir + "/" + kBulk);
    for (int i = 0; i < kBulkFiles; ++i)
      ASSERT_TRUE(WriteFile(node_.data_dir + "/" + kBulk + "/file-" + std::to_string(i) + ".json",
                            "{\"n\": " + std::to_string(i) + "}\n", 0644)
                      .ok());
    const timespec times[2] = {{kBulkMtime, 0}, {kBulkMtime, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, (node_.data_dir + "/" + kBulk).c_str(), times, 0), 0);
  }

  void UseEncryption() {
    const AgeIdentity identity = AgeIdentity::Generate();
    const std::string identity_file = root_ + "/identity.txt";
    ASSERT_TRUE(WriteFile(identity_file, identity.ToString() + "\n", 0600).ok());
    WriteConfig("[backup]\ncache_dir = \"" + root_ + "/cache\"\n\n[encryption]\nrecipients = [\"" +
                identity.Recipient().ToString() + "\"]\nidentity_file = \"" + identity_file +
                "\"\n");
  }

  std::string IndexPath(const std::string& id) {
    Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    return manifest.ok() ? repo_ + "/" + id + "/" + manifest->index->file : "";
  }

  // The undamaged set: the early file comes out, a late one is listed, absent paths (one
  // sorting before everything, one among the entries, one after) are named.
  void ExpectReadsWell(const std::string& id) {
    JsonRun extracted = RunJson(config_path_, {"extract", id, kFile, "--to", root_ + "/good"});
    ASSERT_EQ(extracted.exit_code, 0) << extracted.out << extracted.err;
    EXPECT_EQ(extracted.doc["entries"], 1);
    EXPECT_EQ(*ReadWholeFile(root_ + "/good/" + kFile),
              *ReadWholeFile(node_.data_dir + "/" + kFile));
    JsonRun folder = RunJson(config_path_, {"extract", id, kBulk, "--to", root_ + "/bulk"});
    ASSERT_EQ(folder.exit_code, 0) << folder.out << folder.err;
    EXPECT_EQ(folder.doc["entries"], kBulkFiles + 1);
    struct stat st {};
    ASSERT_EQ(stat((root_ + "/bulk/" + kBulk).c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, kBulkMtime);  // given after its files were written
    const std::string late = std::string(kBulk) + "/file-999.json";
    JsonRun listed = RunJson(config_path_, {"ls", id, late});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    ASSERT_EQ(listed.doc.size(), 1u) << listed.out;
    EXPECT_EQ(listed.doc[0]["path"], late);
    for (const std::string& absent : std::vector<std::string>{
             "0-before-all", "config/general-settings.jsonx", std::string(kBulk) + "/file-99",
             "config/\xc3",  // ends inside a UTF-8 sequence: the JSON escaper refuses it whole
             "zzz"}) {
      CommandResult missing = Run({"extract", id, absent, "--to", root_ + "/missing"});
      EXPECT_EQ(missing.exit_code, 1) << absent;
      EXPECT_NE(missing.err.find("path " + absent + " is not in set " + id), std::string::npos)
          << missing.err;
      EXPECT_FALSE(fs::exists(root_ + "/missing"));
    }
  }

  // One byte flipped near the end of the stored index, far after kFile's entry.
  void DamageIndexTail(const std::string& id) {
    const std::string index = IndexPath(id);
    std::string bytes = *ReadWholeFile(index);
    ASSERT_GT(bytes.size(), 64u);
    bytes[bytes.size() - 20] ^= 0x01;
    ASSERT_TRUE(WriteFile(index, bytes, 0600).ok());
  }

  void ExpectRefusedAsDamaged(const std::string& id) {
    const std::string damaged = "the index " + IndexPath(id);
    const std::string empty = root_ + "/empty";
    fs::create_directories(empty);
    for (const std::string& to : {root_ + "/absent", empty}) {
      CommandResult extract = Run({"extract", id, kFile, "--to", to});
      EXPECT_EQ(extract.exit_code, 1) << extract.err;
      EXPECT_NE(extract.err.find(damaged), std::string::npos) << extract.err;
      EXPECT_NE(extract.err.find("is damaged"), std::string::npos) << extract.err;
    }
    EXPECT_FALSE(fs::exists(root_ + "/absent"));
    EXPECT_TRUE(fs::is_empty(empty));

    CommandResult ls = Run({"ls", id, kFile});
    EXPECT_EQ(ls.exit_code, 1);
    EXPECT_NE(ls.err.find(damaged), std::string::npos) << ls.err;
    EXPECT_NE(ls.err.find("is damaged"), std::string::npos) << ls.err;
    JsonRun json = RunJson(config_path_, {"ls", id, kFile});
    EXPECT_EQ(json.exit_code, 1);
    EXPECT_TRUE(json.doc.is_array()) << json.out;  // still one document; its entries untrusted
  }
};

TEST_F(ExtractFastTest, APlainIndexDamagedAfterTheNamedEntriesIsRefused) {
  const std::string id = BackupOk();
  ExpectReadsWell(id);
  DamageIndexTail(id);
  ExpectRefusedAsDamaged(id);
}

TEST_F(ExtractFastTest, AnEncryptedIndexDamagedAfterTheNamedEntriesIsRefused) {
  UseEncryption();
  const std::string id = BackupOk();
  Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
  ASSERT_TRUE(manifest.ok());
  ASSERT_TRUE(manifest->index->encrypted);
  ExpectReadsWell(id);
  DamageIndexTail(id);
  ExpectRefusedAsDamaged(id);
}

}  // namespace
}  // namespace testing
}  // namespace gb
