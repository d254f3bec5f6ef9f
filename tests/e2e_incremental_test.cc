// End-to-end tests of incremental sets on a generated Govern node (DSS running: every set is
// taken in two passes): a chain of sets over every kind of change, each set's half holding only
// what changed, and the by-hand restore of each set of the chain (zstd and tar, then the
// vanished list) giving exactly the data dir as it was; `backup --full` and full_every.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "config/config.h"
#include "coordinator/manifest.h"
#include "datadir/archive_writer.h"
#include "datadir/change_rule.h"
#include "datadir/file_index.h"
#include "io/files.h"
#include "io/zstd_file.h"
#include "tests/datadir_archive_util.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kDefaultExcludes = BackupConfig::DefaultExcludes();

class IncrementalTest : public GovernNodeTest {
 protected:
  void SetUp() override {
    GovernNodeTest::SetUp();
    dir_ = node_.data_dir + "/config/incremental";
  }

  Manifest LoadManifest(const std::string& id) {
    Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    return manifest.ok() ? *manifest : Manifest{};
  }

  void Put(const std::string& relative, const std::string& content) {
    fs::create_directories(fs::path(dir_ + "/" + relative).parent_path());
    ASSERT_TRUE(WriteFile(dir_ + "/" + relative, content, 0644).ok());
  }

  // Waits until nothing in the data dir changed within the racy window: a set then trusts
  // the times it reads, and its half holds only what changed.
  void LetTheTreeAge() {
    int64_t newest = 0;
    for (auto it = fs::recursive_directory_iterator(node_.data_dir);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it.depth() == 0 && std::find(kDefaultExcludes.begin(), kDefaultExcludes.end(),
                                       it->path().filename().string()) != kDefaultExcludes.end()) {
        it.disable_recursion_pending();
        continue;
      }
      struct stat st;
      if (lstat(it->path().c_str(), &st) == 0)
        newest = std::max({newest, TimeNs(st.st_mtim), TimeNs(st.st_ctim)});
    }
    ASSERT_TRUE(WaitUntil([&] { return WallClockNs() > newest + kRacyWindowNs + 1000000; },
                          std::chrono::seconds(5)));
  }

  // Takes a set; records the live tree it must restore to.
  std::string Take(const std::vector<std::string>& extra = {}) {
    LetTheTreeAge();
    std::string id = BackupOk(extra);
    trees_[id] = TreeDigest(node_.data_dir, kDefaultExcludes);
    return id;
  }

  std::string Half(const Manifest& manifest) {
    return repo_ + "/" + manifest.id + "/" + manifest.datadir.file;
  }

  // The index of a set, entry by entry.
  std::vector<FileIndexEntry> Index(const Manifest& manifest) {
    std::vector<FileIndexEntry> entries;
    auto reader = ZstdFileReader::Open(repo_ + "/" + manifest.id + "/" + manifest.index->file);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return entries;
    FileIndexReader index(**reader, manifest.index->file);
    FileIndexEntry entry;
    for (;;) {
      Result<bool> more = index.Next(entry);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      entries.push_back(entry);
    }
    return entries;
  }

  // The member names of a half (directories without their trailing '/'), as GNU tar lists them.
  std::vector<std::string> Members(const Manifest& manifest) {
    std::vector<std::string> names;
    std::istringstream lines(RunCommand("zstd -dc " + Half(manifest) + " | LC_ALL=C.UTF-8 tar -tf -"));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line.back() == '/') line.pop_back();
      names.push_back(line);
    }
    return names;
  }

  // The README's procedure: each half of the chain oldest first, then its vanished list.
  std::string RestoreByHand(const std::string& id) {
    const std::string target = root_ + "/by-hand-" + id;
    fs::create_directories(target);
    std::vector<Manifest> chain;
    for (std::string next = id; !next.empty();) {
      chain.insert(chain.begin(), LoadManifest(next));
      next = chain.front().parent;
    }
    for (const Manifest& set : chain) {
      RunCommand("zstd -dc " + Half(set) + " | tar -xp --recursive-unlink -f - -C " + target);
      RunCommand("cd " + target + " && xargs -0 rm -rf -- < .govern-backup/vanished");
    }
    fs::remove_all(target + "/.govern-backup");
    return target;
  }

  // Checks set `id`: its type and parent, its half holding exactly the members its index says
  // it holds, and the by-hand restore of its chain.
  void CheckSet(const std::string& id, SetType type, const std::string& parent) {
    SCOPED_TRACE("set " + id);
    Manifest manifest = LoadManifest(id);
    EXPECT_EQ(manifest.type, type);
    EXPECT_EQ(manifest.parent, parent);
    ASSERT_TRUE(manifest.index.has_value());
    std::set<std::string> held_here;
    for (const FileIndexEntry& entry : Index(manifest))
      if (entry.set_id == id) held_here.insert(entry.path);
    std::vector<std::string> members = Members(manifest);
    ASSERT_GE(members.size(), 3u);
    EXPECT_EQ(members[1], kPairMemberName);
    EXPECT_EQ(members.back(), kVanishedMemberName);
    EXPECT_EQ(std::set<std::string>(members.begin() + 2, members.end() - 1), held_here);
    EXPECT_EQ(members.size() - 3, manifest.datadir.files);
    EXPECT_EQ(TreeDigest(RestoreByHand(id)), trees_[id]);
  }

  std::string dir_;  // where the tests change things, inside the data dir
  std::map<std::string, std::map<std::string, std::string>> trees_;
};

TEST_F(IncrementalTest, AChainOfFiveSetsRestoresByHandAtEverySet) {
  Put("keep/stable.txt", "stable\n");
  Put("keep/samesize.txt", "AAAAAAAA\n");
  Put("gone/one.txt", "one\n");
  Put("moved-from.txt", "moving\n");
  Put("becomes-link.txt", "a file for now\n");
  Put("emptied/a.txt", "a\n");
  Put("hard/first.txt", "linked\n");
  ASSERT_EQ(link((dir_ + "/hard/first.txt").c_str(), (dir_ + "/hard/second.txt").c_str()), 0);
  const std::string full = Take();
  CheckSet(full, SetType::kFull, "");

  // Added, modified with the same size and mtime, deleted, renamed, a file turned into a
  // symlink, an empty file, a folder emptied, a hard link added.
  Put("added.txt", "new\n");
  {
    struct stat before;
    ASSERT_EQ(lstat((dir_ + "/keep/samesize.txt").c_str(), &before), 0);
    std::fstream(dir_ + "/keep/samesize.txt", std::ios::in | std::ios::out) << "BBBBBBBB\n";
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir_ + "/keep/samesize.txt").c_str(), times, 0), 0);
  }
  fs::remove_all(dir_ + "/gone");
  fs::rename(dir_ + "/moved-from.txt", dir_ + "/moved-to.txt");
  fs::remove(dir_ + "/becomes-link.txt");
  fs::create_symlink("keep/stable.txt", dir_ + "/becomes-link.txt");
  Put("empty.txt", "");
  fs::remove(dir_ + "/emptied/a.txt");
  ASSERT_EQ(link((dir_ + "/hard/first.txt").c_str(), (dir_ + "/hard/third.txt").c_str()), 0);
  const std::string second = Take();
  CheckSet(second, SetType::kIncremental, full);
  const Manifest second_manifest = LoadManifest(second);
  EXPECT_EQ(second_manifest.datadir.vanished, 3u);  // gone (once), moved-from.txt, emptied/a.txt
  const std::vector<std::string> members = Members(second_manifest);
  EXPECT_NE(std::find(members.begin(), members.end(), "config/incremental/keep/samesize.txt"),
            members.end());
  EXPECT_EQ(std::find(members.begin(), members.end(), "config/incremental/keep/stable.txt"),
            members.end());

  // The symlink back into a file, the emptied folder removed, a folder renamed.
  fs::remove(dir_ + "/becomes-link.txt");
  Put("becomes-link.txt", "a file again\n");
  fs::remove(dir_ + "/emptied");
  fs::rename(dir_ + "/keep", dir_ + "/kept");
  const std::string third = Take();
  CheckSet(third, SetType::kIncremental, second);

  // Nothing changed: only the hard-link groups are archived again (the node has its own too).
  const std::string fourth = Take();
  CheckSet(fourth, SetType::kIncremental, third);
  for (const std::string& member : Members(LoadManifest(fourth)))
    EXPECT_TRUE(member.rfind(".govern-backup", 0) == 0 ||
                member.find("hard/") != std::string::npos ||
                member.find("shared") != std::string::npos)
        << member;

  // A file added to a folder whose other files stay in earlier sets.
  Put("kept/another.txt", "another\n");
  const std::string fifth = Take();
  CheckSet(fifth, SetType::kIncremental, fourth);
}

TEST_F(IncrementalTest, FullFlagAndFullEveryStartANewChain) {
  const std::string first = Take();
  CheckSet(first, SetType::kFull, "");
  Put("a.txt", "a\n");
  CommandResult plan = Run({"backup", "--dry-run"});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("set: incremental, builds on " + first), std::string::npos) << plan.out;
  const std::string second = Take();
  CheckSet(second, SetType::kIncremental, first);

  plan = Run({"backup", "--dry-run", "--full"});
  EXPECT_NE(plan.out.find("set: full: backup --full"), std::string::npos) << plan.out;
  const std::string forced = Take({"--full"});
  CheckSet(forced, SetType::kFull, "");

  // The chain's full set older than full_every: a full set again.
  WriteConfig("[backup]\nfull_every = \"1s\"\n");
  Put("b.txt", "b\n");
  const std::string aged = Take();
  CheckSet(aged, SetType::kFull, "");
  WriteConfig("[backup]\nincremental = false\n");
  const std::string off = Take();
  CheckSet(off, SetType::kFull, "");
}

// A parent whose index cannot be read is no failure: the set is taken full, with a warning.
TEST_F(IncrementalTest, AnUnreadableParentIndexGivesAFullSet) {
  const std::string first = Take();
  const Manifest parent = LoadManifest(first);
  const std::string index = repo_ + "/" + first + "/" + parent.index->file;
  Put("a.txt", "a\n");

  // Damaged inside: the first pass fails on it and starts again as a full set.
  RunCommand("printf 'not an index entry\\n' | zstd -q -c > " + index + ".bad && mv " + index +
         ".bad " + index);
  LetTheTreeAge();
  CommandResult damaged = Run({"backup"});
  ASSERT_EQ(damaged.exit_code, 0) << damaged.err;
  EXPECT_NE(damaged.err.find("taking a full set instead"), std::string::npos) << damaged.err;
  std::string id = damaged.out.substr(0, damaged.out.find('\n'));
  trees_[id] = TreeDigest(node_.data_dir, kDefaultExcludes);
  CheckSet(id, SetType::kFull, "");
  EXPECT_TRUE(node_.IsRunning());

  // Missing: the same, found when it is opened.
  Put("b.txt", "b\n");
  const Manifest second = LoadManifest(id);
  fs::remove(repo_ + "/" + id + "/" + second.index->file);
  LetTheTreeAge();
  CommandResult missing = Run({"backup"});
  ASSERT_EQ(missing.exit_code, 0) << missing.err;
  EXPECT_NE(missing.err.find("taking a full set instead"), std::string::npos) << missing.err;
  id = missing.out.substr(0, missing.out.find('\n'));
  trees_[id] = TreeDigest(node_.data_dir, kDefaultExcludes);
  CheckSet(id, SetType::kFull, "");
}

}  // namespace
}  // namespace testing
}  // namespace gb
