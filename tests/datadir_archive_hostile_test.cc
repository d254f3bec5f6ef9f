// Archives that would write outside the extraction destination are refused before anything
// lands there, by extraction and by the scan of verify and restore's pre-flight.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"
#include "tests/datadir_archive_util.h"

namespace gb {
namespace {

using namespace gb::testing;  // NOLINT: test helpers

// ---- hostile archives --------------------------------------------------------------------

struct CraftedMember {
  CraftedMember(std::string name, mode_t type, std::string content, std::string hardlink = "")
      : name(std::move(name)), type(type), content(std::move(content)),
        hardlink(std::move(hardlink)) {}
  std::string name;
  mode_t type;
  std::string content;   // file data, or symlink target
  std::string hardlink;  // for hard links
};

std::string CraftArchive(const std::vector<CraftedMember>& members) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(
      a, &out, nullptr,
      [](struct archive*, void* self, const void* data, size_t size) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(data), size);
        return static_cast<la_ssize_t>(size);
      },
      nullptr);
  for (const CraftedMember& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, 0644);
    if (m.type == AE_IFLNK) archive_entry_set_symlink(e, m.content.c_str());
    if (!m.hardlink.empty()) archive_entry_set_hardlink(e, m.hardlink.c_str());
    if (m.type == AE_IFREG && m.hardlink.empty()) archive_entry_set_size(e, m.content.size());
    archive_write_header(a, e);
    if (m.type == AE_IFREG && m.hardlink.empty()) {
      archive_write_data(a, m.content.data(), m.content.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

class HostileArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    destination_ = temp_ / "destination";
    outside_ = temp_ / "outside";
    fs::create_directories(outside_);
    PutFile(outside_ + "/secret", "outside secret\n");
  }

  void ExpectRefused(const std::vector<CraftedMember>& members, const std::string& culprit) {
    const std::string destination = destination_ + std::to_string(++attempts_);
    fs::create_directory(destination);
    ShortReadSource source(CraftArchive(members));
    auto scan = ExtractArchive(source, {destination, true});
    ASSERT_FALSE(scan.ok());
    EXPECT_TRUE(IsUnsafeArchive(scan.status())) << scan.status().ToString();
    EXPECT_NE(scan.status().message().find(culprit), std::string::npos)
        << scan.status().message();
    // Nothing landed outside the destination.
    EXPECT_EQ(Snapshot(outside_, {}).size(), 1u);
    EXPECT_EQ(ReadFile(outside_ + "/secret"), "outside secret\n");
    EXPECT_FALSE(fs::exists(temp_ / "evil"));
    // verify and restore's pre-flight scan refuse it too, before anything is extracted.
    ShortReadSource again(CraftArchive(members));
    auto scanned = ScanArchive(again);
    ASSERT_FALSE(scanned.ok());
    EXPECT_TRUE(IsUnsafeArchive(scanned.status())) << scanned.status().ToString();
  }

  TempDir temp_;
  std::string destination_;
  std::string outside_;
  int attempts_ = 0;
};

TEST_F(HostileArchiveTest, DotDot) {
  ExpectRefused({{"ok.txt", AE_IFREG, "fine"}, {"../evil", AE_IFREG, "bad"}}, "../evil");
  ExpectRefused({{"a/../../evil", AE_IFREG, "bad"}}, "a/../../evil");
}

TEST_F(HostileArchiveTest, AbsolutePath) {
  const std::string target = outside_ + "/evil";
  ExpectRefused({{target, AE_IFREG, "bad"}}, target);
}

TEST_F(HostileArchiveTest, WritingThroughASymlink) {
  ExpectRefused({{"link", AE_IFLNK, outside_}, {"link/evil", AE_IFREG, "bad"}}, "link/evil");
  EXPECT_TRUE(fs::is_symlink(destination_ + "1/link"));  // the link itself is harmless
}

TEST_F(HostileArchiveTest, WritingThroughASymlinkThatReplacedADirectory) {
  ExpectRefused({{"dir", AE_IFDIR, ""}, {"dir", AE_IFLNK, outside_}, {"dir/evil", AE_IFREG, "bad"}},
                "dir/evil");
}

TEST_F(HostileArchiveTest, HardLinkOutside) {
  ExpectRefused({{"grab", AE_IFREG, "", "../outside/secret"}}, "../outside/secret");
  ExpectRefused({{"link", AE_IFLNK, outside_}, {"grab", AE_IFREG, "", "link/secret"}}, "grab");
}

}  // namespace
}  // namespace gb
