// Incremental sets and two-pass capture, on real files: the change rule, the merge of the walk
// with the parent's index, the vanished member, and the by-hand restore of a chain (GNU tar
// --recursive-unlink over the parent's extraction, then `xargs -0 rm -rf` of the vanished
// list) giving exactly the tree as it was.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"
#include "datadir/change_rule.h"
#include "datadir/file_index.h"
#include "io/files.h"
#include "io/sha256.h"
#include "tests/datadir_archive_util.h"
#include "tests/support/wait.h"

namespace gb {
namespace {

using namespace gb::testing;  // NOLINT: test helpers

// One set as the archiver wrote it: its tar stream and its index.
struct TakenSet {
  std::string id;
  std::string tar;
  std::string index;  // JSON lines
  std::vector<FileIndexEntry> entries;
  ArchiveWriteStats stats;
};

// What a restore must give back: per path, type, mode, owner, links, mtime (files) and
// content or target. Directory mtimes are left out: deleting the vanished paths touches them.
std::map<std::string, std::string> Digest(const std::string& root) {
  std::map<std::string, std::string> digest;
  const std::vector<std::string> skip = {"tmp", "caches", "analysis-data", ".govern-backup"};
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string relative = it->path().lexically_relative(root).string();
    if (it.depth() == 0 &&
        std::find(skip.begin(), skip.end(), it->path().filename().string()) != skip.end()) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st;
    EXPECT_EQ(lstat(it->path().c_str(), &st), 0);
    std::string line = std::string(IndexTypeOf(st.st_mode)) + " " + std::to_string(st.st_mode) +
                       " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
    if (S_ISREG(st.st_mode))
      line += " links " + std::to_string(st.st_nlink) + " mtime " + std::to_string(st.st_mtime) +
              " sha256 " + Sha256::OfString(ReadFile(it->path()));
    if (S_ISLNK(st.st_mode)) line += " -> " + fs::read_symlink(it->path()).string();
    digest[relative] = line;
  }
  return digest;
}

// Rewrites a file in place, same size, then puts its mtime back: only ctime tells.
void RewriteKeepingSizeAndMtime(const std::string& path, const std::string& content) {
  struct stat before;
  ASSERT_EQ(lstat(path.c_str(), &before), 0);
  ASSERT_EQ(static_cast<size_t>(before.st_size), content.size());
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
}

class IncrementalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = temp_ / "source";
    fs::create_directories(source_);
  }

  // Waits until no entry of the tree was changed within the racy window, so that a set taken
  // now trusts the times it reads (a set of a tree written a moment ago reads it all again).
  void LetTheTreeAge() {
    int64_t newest = 0;
    for (auto& e : fs::recursive_directory_iterator(source_)) {
      struct stat st;
      if (lstat(e.path().c_str(), &st) == 0)
        newest = std::max({newest, TimeNs(st.st_mtim), TimeNs(st.st_ctim)});
    }
    struct stat root;
    ASSERT_EQ(lstat(source_.c_str(), &root), 0);
    newest = std::max({newest, TimeNs(root.st_mtim), TimeNs(root.st_ctim)});
    ASSERT_TRUE(WaitUntil([&] { return WallClockNs() > newest + kRacyWindowNs + 1000000; },
                          std::chrono::seconds(5)));
  }

  // Takes a set building on `parent` (nullptr: full). With `between`, in two passes: the
  // first, then `between`, then the second.
  TakenSet Take(const TakenSet* parent, std::function<void()> between = {},
                std::function<void()> during_first = {}) {
    TakenSet set;
    set.id = "set-" + std::to_string(++taken_);
    StringSink tar;
    StringSink index;
    FileIndexWriter writer(index);
    ArchiveWriteOptions options = DefaultOptions(source_);
    options.set_id = set.id;
    options.two_passes = static_cast<bool>(between);
    options.change_journal = journal_;
    options.on_entry = [&](const FileIndexEntry& entry) { return writer.Add(entry); };
    bool fired = false;
    if (during_first) {
      options.progress = [&](uint64_t done) {
        if (!fired && done > 0) {
          fired = true;
          during_first();
        }
      };
    }
    std::unique_ptr<StringSource> parent_source;
    std::unique_ptr<FileIndexReader> parent_reader;
    if (parent != nullptr) {
      parent_source = std::make_unique<StringSource>(parent->index, 4099);
      parent_reader = std::make_unique<FileIndexReader>(*parent_source, parent->id);
      options.parent = parent_reader.get();
    }
    auto archiver = DataDirArchiver::Start(options, tar);
    EXPECT_TRUE(archiver.ok()) << archiver.status().ToString();
    if (!archiver.ok()) return set;
    Status first = (*archiver)->FirstPass();
    EXPECT_TRUE(first.ok()) << first.ToString();
    if (between) {
      between();
      Status second = (*archiver)->SecondPass();
      EXPECT_TRUE(second.ok()) << second.ToString();
    }
    auto stats = (*archiver)->Finish();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    if (stats.ok()) set.stats = *stats;
    if (between) {
      Status indexed = (*archiver)->WriteIndex();
      EXPECT_TRUE(indexed.ok()) << indexed.ToString();
    }
    set.tar = tar.bytes();
    set.index = index.bytes();
    StringSource lines(set.index);
    FileIndexReader reader(lines, set.id);
    FileIndexEntry entry;
    while (true) {
      auto more = reader.Next(entry);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      set.entries.push_back(entry);
    }
    sets_[set.id] = set.tar;
    return set;
  }

  // The chain restored by hand into a new directory: each half in order, then its vanished.
  std::string RestoreByHand(const std::vector<const TakenSet*>& chain) {
    const std::string target = temp_ / ("restore-" + std::to_string(++restores_));
    fs::create_directories(target);
    for (const TakenSet* set : chain) {
      const std::string half = temp_ / (set->id + ".tar");
      EXPECT_TRUE(WriteFile(half, set->tar, 0600).ok());
      RunCommand("tar -x --recursive-unlink -f " + half + " -C " + target);
      RunCommand("cd " + target + " && xargs -0 rm -rf -- < .govern-backup/vanished");
    }
    return target;
  }

  // The paths of the vanished member of `set`.
  static std::vector<std::string> VanishedOf(const TakenSet& set) {
    const std::string name = kVanishedMemberName;
    // The member is last: its content ends the stream before the end-of-archive blocks.
    size_t header = set.tar.rfind(name + std::string(1, '\0'));
    EXPECT_NE(header, std::string::npos);
    const size_t size = std::stoul(set.tar.substr(header + 124, 12), nullptr, 8);
    const std::string content = set.tar.substr(header + 512, size);
    std::vector<std::string> paths;
    size_t start = 0;
    while (start < content.size()) {
      const size_t end = content.find('\0', start);
      paths.push_back(content.substr(start, end - start));
      start = end + 1;
    }
    return paths;
  }

  // Every index entry names a member of the set it says, at the offset it says, holding the
  // file's content.
  void ExpectIndexPointsAtMembers(const TakenSet& set) {
    for (const FileIndexEntry& entry : set.entries) {
      ASSERT_TRUE(sets_.count(entry.set_id)) << entry.path << " in unknown set " << entry.set_id;
      const std::string& tar = sets_[entry.set_id];
      ASSERT_LE(entry.offset + entry.length, tar.size()) << entry.path;
      const std::string name = entry.path + (entry.type == "dir" ? "/" : "") + '\0';
      EXPECT_EQ(tar.substr(entry.offset, name.size()), name) << entry.path;
      if (entry.type == "file" && entry.size > 0) {
        EXPECT_TRUE(tar.substr(entry.offset + 512, entry.size) ==
                    ReadFile(source_ + "/" + entry.path))
            << entry.path << " in set " << entry.set_id << " at " << entry.offset;
      }
    }
  }

  std::vector<std::string> Paths(const TakenSet& set) {
    std::vector<std::string> paths;
    for (const auto& entry : set.entries) paths.push_back(entry.path);
    return paths;
  }

  std::vector<std::string> ArchivedHere(const TakenSet& set) {
    std::vector<std::string> paths;
    for (const auto& entry : set.entries)
      if (entry.set_id == set.id) paths.push_back(entry.path);
    return paths;
  }

  TempDir temp_;
  std::string source_;
  bool journal_ = false;  // two passes: the second one reads what the change journal names
  int taken_ = 0;
  int restores_ = 0;
  std::map<std::string, std::string> sets_;  // id -> tar
};

// ---- the change rule ---------------------------------------------------------------------

TEST(ChangeRuleTest, EachFieldCounts) {
  TempDir temp;
  const std::string file = temp / "f";
  PutFile(file, "content");
  struct stat st;
  ASSERT_EQ(lstat(file.c_str(), &st), 0);
  FileIndexEntry same;
  same.type = "file";
  same.mode = st.st_mode & 07777;
  same.uid = st.st_uid;
  same.gid = st.st_gid;
  same.size = static_cast<uint64_t>(st.st_size);
  same.mtime_ns = TimeNs(st.st_mtim);
  same.ctime_ns = TimeNs(st.st_ctim);
  same.inode = st.st_ino;
  EXPECT_FALSE(NeedsArchiving(same, st, ""));
  const std::vector<std::function<void(FileIndexEntry&)>> changes = {
      [](FileIndexEntry& e) { e.type = "hardlink"; },  [](FileIndexEntry& e) { e.mode ^= 1; },
      [](FileIndexEntry& e) { e.uid += 1; },           [](FileIndexEntry& e) { e.gid += 1; },
      [](FileIndexEntry& e) { e.size += 1; },          [](FileIndexEntry& e) { e.mtime_ns += 1; },
      [](FileIndexEntry& e) { e.ctime_ns += 1; },      [](FileIndexEntry& e) { e.inode += 1; },
      [](FileIndexEntry& e) { e.racy = true; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    FileIndexEntry changed = same;
    changes[i](changed);
    EXPECT_TRUE(NeedsArchiving(changed, st, "")) << "change " << i;
  }
  ASSERT_EQ(link(file.c_str(), (temp / "g").c_str()), 0);
  ASSERT_EQ(lstat(file.c_str(), &st), 0);
  same.ctime_ns = TimeNs(st.st_ctim);
  EXPECT_TRUE(NeedsArchiving(same, st, "")) << "a hard-link group is archived every time";
}

TEST(ChangeRuleTest, SymlinkTargetCounts) {
  TempDir temp;
  const std::string link = temp / "l";
  fs::create_symlink("abc", link);
  struct stat st;
  ASSERT_EQ(lstat(link.c_str(), &st), 0);
  FileIndexEntry entry;
  entry.type = "symlink";
  entry.mode = st.st_mode & 07777;
  entry.uid = st.st_uid;
  entry.gid = st.st_gid;
  entry.mtime_ns = TimeNs(st.st_mtim);
  entry.ctime_ns = TimeNs(st.st_ctim);
  entry.inode = st.st_ino;
  entry.link_target = "abc";
  EXPECT_FALSE(NeedsArchiving(entry, st, "abc"));
  EXPECT_TRUE(NeedsArchiving(entry, st, "abd"));
}

TEST(ChangeRuleTest, RacyWithinOneSecondOfTheRead) {
  struct stat st {};
  st.st_mtim.tv_sec = 1000;
  st.st_ctim.tv_sec = 1000;
  EXPECT_TRUE(IsRacy(st, 1000 * kRacyWindowNs + 5));
  EXPECT_TRUE(IsRacy(st, 1000 * kRacyWindowNs + kRacyWindowNs - 1));
  EXPECT_FALSE(IsRacy(st, 1001 * kRacyWindowNs));
  st.st_ctim.tv_sec = 1001;  // a chmod or a rewrite with the mtime set back
  EXPECT_TRUE(IsRacy(st, 1001 * kRacyWindowNs + 5));
}

// ---- a chain of sets over every kind of change --------------------------------------------

TEST_F(IncrementalTest, AChainOfChangesRestoresByHandAtEverySet) {
  const std::string s = source_;
  PutFile(s + "/keep/stable.txt", "stable\n");
  PutFile(s + "/keep/modified.txt", "version 1\n");
  PutFile(s + "/keep/samesize.txt", "AAAAAAAA\n");
  PutFile(s + "/gone/one.txt", "one\n");
  PutFile(s + "/gone/sub/two.txt", "two\n");
  PutFile(s + "/moved-from.txt", "moving\n");
  PutFile(s + "/becomes-link.txt", "a file for now\n");
  PutFile(s + "/emptied/a.txt", "a\n");
  PutFile(s + "/emptied/b.txt", "b\n");
  PutFile(s + "/hard/first.txt", "linked\n");
  ASSERT_EQ(link((s + "/hard/first.txt").c_str(), (s + "/hard/second.txt").c_str()), 0);
  PutFile(s + "/dir-to-link/inside.txt", "inside\n");
  PutFile(s + "/target-dir/inside.txt", "the target's own\n");
  PutFile(s + "/tmp/excluded.txt", "never archived\n");
  LetTheTreeAge();
  std::vector<TakenSet> chain;
  chain.push_back(Take(nullptr));
  EXPECT_EQ(chain[0].stats.vanished, 0u);
  EXPECT_EQ(ArchivedHere(chain[0]), Paths(chain[0])) << "a full set archives everything";

  const auto check = [&](size_t n) {
    SCOPED_TRACE("set " + std::to_string(n + 1));
    std::vector<const TakenSet*> sets;
    for (size_t i = 0; i <= n; ++i) sets.push_back(&chain[i]);
    EXPECT_EQ(Digest(RestoreByHand(sets)), Digest(source_));
    ExpectIndexPointsAtMembers(chain[n]);
  };
  check(0);

  // Set 2: added, modified (also with the same size and mtime), deleted, renamed, a file
  // turned into a symlink, an empty file, a folder emptied, a hard link added, a folder
  // replaced by a symlink to another folder that has the same names.
  PutFile(s + "/added.txt", "new\n");
  PutFile(s + "/keep/modified.txt", "version 2, longer\n");
  RewriteKeepingSizeAndMtime(s + "/keep/samesize.txt", "BBBBBBBB\n");
  fs::remove_all(s + "/gone");
  fs::rename(s + "/moved-from.txt", s + "/moved-to.txt");
  fs::remove(s + "/becomes-link.txt");
  fs::create_symlink("keep/stable.txt", s + "/becomes-link.txt");
  PutFile(s + "/empty.txt", "");
  fs::remove(s + "/emptied/a.txt");
  fs::remove(s + "/emptied/b.txt");
  ASSERT_EQ(link((s + "/hard/first.txt").c_str(), (s + "/hard/third.txt").c_str()), 0);
  fs::remove_all(s + "/dir-to-link");
  fs::create_symlink("target-dir", s + "/dir-to-link");
  LetTheTreeAge();
  chain.push_back(Take(&chain[0]));
  check(1);
  EXPECT_EQ(chain[1].stats.entries, ArchivedHere(chain[1]).size());
  const std::vector<std::string> archived = ArchivedHere(chain[1]);
  for (const char* path : {"added.txt", "keep/modified.txt", "keep/samesize.txt", "moved-to.txt",
                           "becomes-link.txt", "empty.txt", "hard/first.txt",
                           "hard/second.txt", "hard/third.txt", "dir-to-link"})
    EXPECT_NE(std::find(archived.begin(), archived.end(), path), archived.end()) << path;
  // A folder that stays one is never archived again (tar --recursive-unlink would empty it
  // in a by-hand restore): its entry says what it is now, its member is the earlier one.
  for (const char* path : {"keep/stable.txt", "target-dir/inside.txt", "emptied"})
    EXPECT_EQ(std::find(archived.begin(), archived.end(), path), archived.end()) << path;
  // Only what a by-hand restore must delete itself: a removed folder once, nothing below a
  // path that is now a symlink (rm -rf would follow it into target-dir).
  std::vector<std::string> vanished = VanishedOf(chain[1]);
  std::sort(vanished.begin(), vanished.end());
  EXPECT_EQ(vanished, (std::vector<std::string>{"emptied/a.txt", "emptied/b.txt", "gone",
                                                "moved-from.txt"}));
  EXPECT_EQ(chain[1].stats.vanished, 4u);
  // The manifest's counts are what any reader of the half counts, the vanished member's
  // content included (restore's pre-flight compares them).
  StringSource half(chain[1].tar);
  Result<ArchiveScan> scan = ScanArchive(half);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(scan->source_bytes, chain[1].stats.source_bytes);
  EXPECT_EQ(scan->entries, chain[1].stats.entries);

  // Set 3: the symlink back into a file, the emptied folder removed, a folder renamed.
  fs::remove(s + "/becomes-link.txt");
  PutFile(s + "/becomes-link.txt", "a file again\n");
  fs::remove(s + "/emptied");
  fs::rename(s + "/keep", s + "/kept");
  fs::remove(s + "/hard/second.txt");
  LetTheTreeAge();
  chain.push_back(Take(&chain[1]));
  check(2);

  // Set 4: nothing changed: only the hard-link group is archived again.
  LetTheTreeAge();
  chain.push_back(Take(&chain[2]));
  check(3);
  EXPECT_EQ(ArchivedHere(chain[3]),
            (std::vector<std::string>{"hard/first.txt", "hard/third.txt"}));
  EXPECT_TRUE(VanishedOf(chain[3]).empty());

  // Set 5: the folder replaced by a symlink becomes a folder again; a file added to a folder
  // whose other files are kept from earlier sets.
  fs::remove(s + "/dir-to-link");
  PutFile(s + "/kept/another.txt", "another\n");
  PutFile(s + "/dir-to-link/inside.txt", "back\n");
  LetTheTreeAge();
  chain.push_back(Take(&chain[3]));
  check(4);
}

// A file read within the racy window is read again by the next set, even unchanged; then
// trusted.
TEST_F(IncrementalTest, ARacyFileIsReadAgainByTheNextSet) {
  PutFile(source_ + "/old.txt", "old\n");
  LetTheTreeAge();
  PutFile(source_ + "/fresh.txt", "written just now\n");
  TakenSet first = Take(nullptr);
  std::map<std::string, bool> racy;
  for (const auto& entry : first.entries) racy[entry.path] = entry.racy;
  EXPECT_TRUE(racy["fresh.txt"]);
  EXPECT_FALSE(racy["old.txt"]);
  // Same size, same mtime, within the same tick: only the racy flag tells.
  LetTheTreeAge();
  TakenSet second = Take(&first);
  EXPECT_EQ(ArchivedHere(second), std::vector<std::string>{"fresh.txt"});
  TakenSet third = Take(&second);
  EXPECT_TRUE(ArchivedHere(third).empty());
}

// The second pass with a journal steps over a quiet folder's entries without reading them (a
// run of several spill frames): the set is the one a second pass that stats everything takes.
// Below the quiet folder: entries with every field set (owners, modes, symlinks), paths gone
// since the parent (one listed as vanished, one in a folder removed whole, one whose folder
// is now a file: not listed). A hard-link group (whose folders are always entered) beside a
// quiet folder, and a busy folder after them where things change between the passes.
TEST_F(IncrementalTest, AQuietFolderSteppedOverGivesTheSetOfAFullSecondPass) {
  const std::string s = source_;
  for (int d = 0; d < 40; ++d) {
    const std::string folder = s + "/quiet/d" + std::to_string(100 + d);
    for (int f = 0; f < 40; ++f)
      PutFile(folder + "/f" + std::to_string(f), "content " + std::to_string(d * 100 + f) + "\n",
              f % 2 ? 0640 : 0604);
    fs::create_symlink("f1", folder + "/link");
    ASSERT_EQ(lchown((folder + "/f3").c_str(), 1234, 5678), 0);
  }
  PutFile(s + "/linked/a/first", "linked\n");
  fs::create_directories(s + "/linked/b");
  fs::create_hard_link(s + "/linked/a/first", s + "/linked/b/second");
  for (int f = 0; f < 30; ++f) PutFile(s + "/linked/still/f" + std::to_string(f), "still\n");
  PutFile(s + "/quiet/d120/sub/inner", "inner\n");
  PutFile(s + "/zbusy/changed.txt", "11111111\n");
  PutFile(s + "/zbusy/removed.txt", "removed\n");
  LetTheTreeAge();
  journal_ = false;
  TakenSet full = Take(nullptr);
  fs::remove(s + "/quiet/d110/f3");             // gone, in a folder still there: listed
  fs::remove_all(s + "/quiet/d125");            // gone whole: the folder listed only
  fs::remove_all(s + "/quiet/d120/sub");        // now a file: sub/inner not listed
  PutFile(s + "/quiet/d120/sub", "a file now\n");
  LetTheTreeAge();
  const auto between = [&] {
    RewriteKeepingSizeAndMtime(s + "/zbusy/changed.txt", "22222222\n");
    fs::remove(s + "/zbusy/removed.txt");
    PutFile(s + "/zbusy/created.txt", "created\n");
  };
  journal_ = true;
  TakenSet stepped = Take(&full, between);
  EXPECT_EQ(stepped.stats.journal_not_used, "");
  EXPECT_EQ(Digest(RestoreByHand({&full, &stepped})), Digest(source_));
  ExpectIndexPointsAtMembers(stepped);
  journal_ = false;
  TakenSet stated = Take(&full, [] {});  // the same tree, every entry stat'ed

  // Entry by entry the same; what either set archived itself differs by the set and offset.
  const auto normalized = [](const TakenSet& set) {
    std::vector<std::string> lines;
    for (const FileIndexEntry& entry : set.entries) {
      nlohmann::json json = entry.ToJson();
      if (entry.set_id == set.id) {
        for (const char* key : {"set", "offset", "length", "racy"}) json.erase(key);
      }
      lines.push_back(json.dump());
    }
    return lines;
  };
  EXPECT_EQ(normalized(stepped), normalized(stated));
  size_t quiet = 0;  // some 500 KiB of spilled records: several frames
  for (const FileIndexEntry& entry : stepped.entries) {
    if (entry.path.rfind("quiet/", 0) != 0) continue;
    ++quiet;
    if (entry.path != "quiet/d120/sub") {
      EXPECT_EQ(entry.set_id, full.id) << entry.path;
    }
  }
  EXPECT_GT(quiet, 1600u);
  std::vector<std::string> vanished = VanishedOf(stepped);
  std::sort(vanished.begin(), vanished.end());
  EXPECT_EQ(vanished, (std::vector<std::string>{"quiet/d110/f3", "quiet/d125",
                                                "zbusy/removed.txt"}));
  std::vector<std::string> vanished_stated = VanishedOf(stated);
  std::sort(vanished_stated.begin(), vanished_stated.end());
  EXPECT_EQ(vanished_stated, vanished);
}

// ---- two passes: each test with a change journal and without -----------------------------

class TwoPassTest : public IncrementalTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    IncrementalTest::SetUp();
    journal_ = GetParam();
  }
  // The second pass used the journal when asked to (nothing made it give up).
  void ExpectJournalUsed(const TakenSet& set) {
    if (journal_) EXPECT_EQ(set.stats.journal_not_used, "");
    else EXPECT_NE(set.stats.journal_not_used, "");
  }
};
INSTANTIATE_TEST_SUITE_P(StatEverythingOrJournal, TwoPassTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Journal" : "StatEverything";
                         });

TEST_P(TwoPassTest, TheSecondPassTakesWhatChangedAfterTheFirst) {
  const std::string s = source_;
  PutFile(s + "/a/stable.txt", "stable\n");
  PutFile(s + "/a/changed.txt", "11111111\n");
  PutFile(s + "/a/removed.txt", "removed\n");
  PutFile(s + "/b/one.txt", "one\n");
  PutFile(s + "/d-during.txt", "before\n");
  LetTheTreeAge();
  TakenSet full = Take(nullptr);
  fs::remove(s + "/d-during.txt");  // gone since the parent ...
  PutFile(s + "/e-new.txt", "new\n");
  PutFile(s + "/c-big.bin", Pattern(20 << 20, 7));
  LetTheTreeAge();
  TakenSet set = Take(
      &full,
      [&] {
        RewriteKeepingSizeAndMtime(s + "/a/changed.txt", "22222222\n");
        fs::remove(s + "/a/removed.txt");
        fs::remove_all(s + "/b");
        PutFile(s + "/a/created.txt", "between the passes\n");
        PutFile(s + "/d-during.txt", "back again\n");  // ... and back before the second pass
        fs::remove(s + "/e-new.txt");                  // archived by the first pass, gone
      },
      [&] {
        // 16 MiB into c-big.bin, while the first pass reads it.
        std::ofstream(s + "/c-big.bin", std::ios::app) << "more";
      });
  EXPECT_EQ(Digest(RestoreByHand({&full, &set})), Digest(source_));
  ExpectIndexPointsAtMembers(set);
  std::vector<std::string> vanished = VanishedOf(set);
  std::sort(vanished.begin(), vanished.end());
  EXPECT_EQ(vanished, (std::vector<std::string>{"a/removed.txt", "b", "e-new.txt"}));
  const std::vector<std::string> paths = Paths(set);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "d-during.txt"), 1);
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "b/one.txt"), 0);
  for (const auto& entry : set.entries) {
    if (entry.path == "a/changed.txt" || entry.path == "a/created.txt" ||
        entry.path == "d-during.txt" || entry.path == "c-big.bin") {
      EXPECT_EQ(entry.set_id, set.id) << entry.path;
    }
    if (entry.path == "a/stable.txt") {
      EXPECT_EQ(entry.set_id, full.id);
    }
  }
  // a/changed, a/created, c-big.bin, d-during; "a" changed in place, as a directory.
  EXPECT_EQ(set.stats.second_pass, 4u);
  ExpectJournalUsed(set);
}

// A full set in two passes: the second pass re-reads a file changed after the first read it,
// and the later member wins in a by-hand extraction.
TEST_P(TwoPassTest, AFullSetInTwoPasses) {
  PutFile(source_ + "/x.txt", "XXXXXXXX\n");
  PutFile(source_ + "/y.txt", "y\n");
  LetTheTreeAge();
  TakenSet set = Take(nullptr, [&] { RewriteKeepingSizeAndMtime(source_ + "/x.txt", "ZZZZZZZZ\n"); });
  EXPECT_EQ(Digest(RestoreByHand({&set})), Digest(source_));
  ExpectIndexPointsAtMembers(set);
  EXPECT_EQ(Paths(set), (std::vector<std::string>{"x.txt", "y.txt"}));
  EXPECT_EQ(set.stats.entries, 3u);  // x.txt twice
}

// A tree written a moment ago is racy throughout in the first pass: the second pass, with DSS
// stopped, confirms what is unchanged by its content rather than archiving it all twice, and
// archives what differs although its size and mtime do not.
TEST_P(TwoPassTest, TheSecondPassConfirmsRacyEntriesByContent) {
  PutFile(source_ + "/same.txt", "SSSSSSSS\n");
  PutFile(source_ + "/rewritten.txt", "RRRRRRRR\n");
  PutFile(source_ + "/dir/inner.txt", "inner\n");
  fs::create_symlink("same.txt", source_ + "/link");
  TakenSet set = Take(nullptr, [&] {
    RewriteKeepingSizeAndMtime(source_ + "/rewritten.txt", "WWWWWWWW\n");
  });
  for (const auto& entry : set.entries) EXPECT_TRUE(entry.racy) << entry.path;
  EXPECT_EQ(set.stats.second_pass, 1u);
  EXPECT_EQ(set.stats.entries, set.entries.size() + 1);  // rewritten.txt twice
  EXPECT_EQ(Digest(RestoreByHand({&set})), Digest(source_));
  ExpectIndexPointsAtMembers(set);
}

// A tree written (or chown'ed) a moment ago, folders included: with the journal, the second
// pass enters only the folder where something happened since the first pass and reads no
// racy file again elsewhere (DSS is down meanwhile); without it, it confirms every racy file
// by its content. Both give the tree exactly, the rewrite between the passes included.
TEST_P(TwoPassTest, RacyFoldersTheJournalSaysNothingHappenedInAreNotReadAgain) {
  for (int folder = 0; folder < 4; ++folder)
    for (int file = 0; file < 25; ++file)
      PutFile(source_ + "/d" + std::to_string(folder) + "/f" + std::to_string(file) + ".txt",
              "content " + std::to_string(folder * 100 + file) + "\n");
  PutFile(source_ + "/busy/rewritten.txt", "RRRRRRRR\n");
  PutFile(source_ + "/busy/kept.txt", "kept\n");
  TakenSet set = Take(nullptr, [&] {
    RewriteKeepingSizeAndMtime(source_ + "/busy/rewritten.txt", "WWWWWWWW\n");
  });
  for (const auto& entry : set.entries) EXPECT_TRUE(entry.racy) << entry.path;
  EXPECT_EQ(set.stats.second_pass, 1u);
  // busy/'s two files (rewritten.txt compared, then archived again); without the journal, the
  // 100 of d0..d3 too.
  if (journal_) EXPECT_EQ(set.stats.racy_read_again, 2u);
  else EXPECT_EQ(set.stats.racy_read_again, 102u);
  EXPECT_EQ(Digest(RestoreByHand({&set})), Digest(source_));
  ExpectIndexPointsAtMembers(set);
  ExpectJournalUsed(set);
}

// The second pass runs with DSS stopped: a change then is an error, as in one offline pass.
TEST_P(TwoPassTest, TheSecondPassIsStrict) {
  PutFile(source_ + "/big.bin", Pattern(20 << 20, 3));
  LetTheTreeAge();
  StringSink tar;
  ArchiveWriteOptions options = DefaultOptions(source_);
  options.two_passes = true;
  options.change_journal = journal_;
  int pass = 1;
  bool fired = false;
  options.progress = [&](uint64_t) {
    if (pass == 2 && !fired) {
      fired = true;
      std::ofstream(source_ + "/big.bin", std::ios::app) << "more";
    }
  };
  auto archiver = DataDirArchiver::Start(options, tar);
  ASSERT_TRUE(archiver.ok());
  ASSERT_TRUE((*archiver)->FirstPass().ok());
  pass = 2;
  RewriteKeepingSizeAndMtime(source_ + "/big.bin", Pattern(20 << 20, 4));
  Status second = (*archiver)->SecondPass();
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.message().find("big.bin changed while being read"), std::string::npos)
      << second.message();
}

// A tree where one deep folder changes between the passes: the second pass enters only the
// folders above it, and whatever happened there (a file rewritten in place, one chmod'ed, one
// made, one removed, a folder made with files in it, a folder renamed) is in the set exactly;
// paths gone since the parent, in folders nothing happened in, are still listed as vanished.
TEST_P(TwoPassTest, OnlyWhatChangedIsReadAgainAndTheTreeIsExact) {
  const std::string s = source_;
  for (int p = 0; p < 30; ++p)
    for (int f = 0; f < 5; ++f)
      PutFile(s + "/projects/P" + std::to_string(p) + "/f" + std::to_string(f) + ".json",
              "{\"p\": " + std::to_string(p * 10 + f) + "}\n");
  PutFile(s + "/projects/P7/deep/er/file.txt", "11111111\n");
  PutFile(s + "/projects/P7/deep/er/chmod.txt", "mode\n");
  PutFile(s + "/projects/P7/deep/er/removed.txt", "removed\n");
  PutFile(s + "/projects/P9/old-name/inner.txt", "inner\n");
  PutFile(s + "/projects/P20/sub/goes.txt", "goes\n");
  PutFile(s + "/projects/P20/sub/stays.txt", "stays\n");
  LetTheTreeAge();
  TakenSet full = Take(nullptr);
  fs::remove(s + "/projects/P20/sub/goes.txt");  // gone since the parent, in a quiet folder
  LetTheTreeAge();
  TakenSet set = Take(&full, [&] {
    RewriteKeepingSizeAndMtime(s + "/projects/P7/deep/er/file.txt", "22222222\n");
    fs::permissions(s + "/projects/P7/deep/er/chmod.txt", fs::perms::owner_read);
    fs::remove(s + "/projects/P7/deep/er/removed.txt");
    PutFile(s + "/projects/P7/deep/er/made.txt", "made\n");
    PutFile(s + "/projects/P12/new/sub/a.txt", "a\n");
    fs::rename(s + "/projects/P9/old-name", s + "/projects/P9/new-name");
  });
  EXPECT_EQ(Digest(RestoreByHand({&full, &set})), Digest(source_));
  ExpectIndexPointsAtMembers(set);
  ExpectJournalUsed(set);
  std::vector<std::string> vanished = VanishedOf(set);
  std::sort(vanished.begin(), vanished.end());
  EXPECT_EQ(vanished, (std::vector<std::string>{"projects/P20/sub/goes.txt",
                                                "projects/P7/deep/er/removed.txt",
                                                "projects/P9/old-name"}));
  if (journal_) {  // the changed paths, not the 150 files around them
    EXPECT_GE(set.stats.journal_paths, 6u);
    EXPECT_LE(set.stats.journal_paths, 12u);
  }
}

// A hard link rewritten through one name between the passes: the journal hears of that name
// only, yet every name of the group is read again and stays one file.
TEST_P(TwoPassTest, AHardLinkChangedThroughOneNameIsReadUnderEvery) {
  PutFile(source_ + "/one/first", "linked 1\n");
  fs::create_directories(source_ + "/two");
  fs::create_hard_link(source_ + "/one/first", source_ + "/two/second");
  PutFile(source_ + "/three/other", "other\n");
  LetTheTreeAge();
  TakenSet set = Take(nullptr, [&] {
    std::ofstream(source_ + "/two/second", std::ios::app) << "appended\n";
  });
  EXPECT_EQ(Digest(RestoreByHand({&set})), Digest(source_));
  ExpectIndexPointsAtMembers(set);
  ExpectJournalUsed(set);
}

// More events between the passes than the kernel queues: the journal gives up, and the second
// pass stats everything, missing nothing.
TEST_P(TwoPassTest, AnOverflowingJournalFallsBackToStatingEverything) {
  if (!journal_) GTEST_SKIP() << "the journal's own fallback";
  const int queued = std::stoi(ReadFile("/proc/sys/fs/inotify/max_queued_events"));
  if (queued > 200000) GTEST_SKIP() << "max_queued_events is " << queued << ": too many files";
  PutFile(source_ + "/burst/seed.txt", "seed\n");
  PutFile(source_ + "/quiet/old.txt", "old\n");
  LetTheTreeAge();
  TakenSet set = Take(nullptr, [&] {
    // A new file raises at least two events (created, closed after writing).
    for (int i = 0; i < queued / 2 + 100; ++i)
      PutFile(source_ + "/burst/f" + std::to_string(i), "x");
    RewriteKeepingSizeAndMtime(source_ + "/quiet/old.txt", "new\n");
  });
  EXPECT_NE(set.stats.journal_not_used.find("overflowed"), std::string::npos)
      << set.stats.journal_not_used;
  EXPECT_EQ(Digest(RestoreByHand({&set})), Digest(source_));
}

}  // namespace
}  // namespace gb
