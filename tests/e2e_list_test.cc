// End-to-end tests of `govern-backup list` and `show` on a real set, and of how every command
// treats a manifest naming a half outside its set: damaged for list, a problem for verify
// (exit 3), refused by restore (exit 4), never a file outside the set read.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "coordinator/manifest.h"
#include "coordinator/repository.h"
#include "io/atomic_file.h"
#include "tests/support/govern_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

class ListTest : public GovernNodeTest {
 protected:
  // The set's entry in `list --json`.
  nlohmann::json Listed(const std::string& id) {
    CommandResult listed = Run({"--json", "list"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    nlohmann::json json = nlohmann::json::parse(listed.out);
    EXPECT_EQ(json["repository"], repo_);
    for (const auto& set : json["sets"])
      if (set["id"] == id) return set;
    ADD_FAILURE() << "set " << id << " not listed: " << listed.out;
    return {};
  }
};

TEST_F(ListTest, ACompleteSetIsListedAndShownAsJson) {
  std::string id = BackupOk({"--note", "a \"quoted\" note"});
  nlohmann::json set = Listed(id);
  EXPECT_EQ(set["status"], "complete");
  EXPECT_EQ(set["consistency"], "offline");
  EXPECT_EQ(set["note"], "a \"quoted\" note");
  EXPECT_GT(set["datadir_bytes"].get<uint64_t>(), 0u);

  CommandResult shown = Run({"--json", "show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  nlohmann::json manifest = nlohmann::json::parse(shown.out);
  EXPECT_EQ(manifest["id"], id);
  EXPECT_EQ(manifest["pair_token"].get<std::string>().size(), 32u);
  EXPECT_EQ(manifest["datadir"]["file"], Repository::DatadirFileName(id));
  EXPECT_EQ(manifest["type"], "full");

  // The index is a part of the set like its halves: list says when it is gone.
  ASSERT_TRUE(fs::remove(repo_ + "/" + id + "/" + manifest["index"]["file"].get<std::string>()));
  EXPECT_EQ(Listed(id)["status"], "index missing");
}

TEST_F(ListTest, AHalfNamedOutsideTheSetIsDamagedForEveryCommand) {
  std::string id = BackupOk();
  const std::string manifest_path = repo_ + "/" + id + "/" + kManifestName;
  Result<Manifest> manifest = Manifest::Load(manifest_path);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  // The half moved outside the set, and a (validly checksummed) manifest pointing at it.
  std::string outside = root_ + "/outside.datadir.tar.zst";
  fs::rename(repo_ + "/" + id + "/" + manifest->datadir.file, outside);
  manifest->datadir.file = "../../outside.datadir.tar.zst";
  ASSERT_TRUE(WriteFileAtomically(manifest_path, manifest->ToText()).ok());

  EXPECT_EQ(Listed(id)["status"], "damaged manifest");

  CommandResult verify = Run({"verify", id});
  EXPECT_EQ(verify.exit_code, 3) << verify.out << verify.err;
  EXPECT_NE((verify.out + verify.err).find("datadir.file"), std::string::npos)
      << verify.out << verify.err;

  std::string before = ReadWholeFile(node_.events_log()).value();
  CommandResult restore = Run({"restore", id, "--yes"});
  EXPECT_EQ(restore.exit_code, 4) << restore.out << restore.err;
  EXPECT_NE((restore.out + restore.err).find("datadir.file"), std::string::npos)
      << restore.out << restore.err;
  EXPECT_EQ(ReadWholeFile(node_.events_log()).value(), before) << "DSS must stay untouched";
  EXPECT_TRUE(fs::exists(outside));
}

}  // namespace
}  // namespace testing
}  // namespace gb
