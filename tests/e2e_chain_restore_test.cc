// Restoring and extracting a set of a chain from its index: each file read from the set of
// the chain that holds it (coordinator/set_tree.h). Most tests make the chain by hand from
// two real full sets (the second rewritten as an incremental set whose unchanged entries
// point into the first), to control which set holds what: the tree made is exactly the
// node's at each set; extract takes files from both sets; a damaged holder set makes the
// materialiser fail naming it, and the restore's staging leaves nothing. The last test
// restores every set of a captured chain with the real binary.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "coordinator/chain.h"
#include "coordinator/half_stream.h"
#include "coordinator/manifest.h"
#include "coordinator/pair_identity.h"
#include "coordinator/repository.h"
#include "coordinator/restore_staging.h"
#include "coordinator/set_tree.h"
#include "datadir/change_rule.h"
#include "datadir/file_index.h"
#include "io/env.h"
#include "io/files.h"
#include "io/seekable_zstd_reader.h"
#include "io/sha256.h"
#include "tests/support/cli_json.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/restore_skips.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

std::vector<FileIndexEntry> ReadIndex(const Repository& repo, const Manifest& set) {
  std::vector<FileIndexEntry> entries;
  auto stream = OpenHalf(repo, set.id, set.index->file);
  EXPECT_TRUE(stream.ok()) << stream.status().ToString();
  if (!stream.ok()) return entries;
  FileIndexReader reader(**stream, set.index->file);
  FileIndexEntry entry;
  for (;;) {
    Result<bool> more = reader.Next(entry);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    entries.push_back(entry);
  }
  return entries;
}

// What makes an entry "the same" in both sets, as the incremental capture's rule sees it.
bool Unchanged(const FileIndexEntry& now, const FileIndexEntry& before) {
  return now.type == before.type && now.mode == before.mode && now.uid == before.uid &&
         now.gid == before.gid && now.size == before.size && now.mtime_ns == before.mtime_ns &&
         now.sha256 == before.sha256 && now.link_target == before.link_target;
}

// Replaces the index of set `manifest` with `entries`, and records it in `manifest` (whose
// file the caller writes).
void WriteIndex(const Repository& repo, Manifest& manifest, const std::vector<FileIndexEntry>& entries) {
  const std::string path = repo.Locate(repo.ObjectKey(manifest.id, manifest.index->file));
  EXPECT_TRUE(fs::remove(path)) << path;
  HalfOptions options;
  options.identity = PairIdentity{manifest.id, manifest.pair_token, kRoleDatadir}.ToText();
  auto upload = HalfUpload::Start(repo, manifest.id, manifest.index->file, options);
  ASSERT_TRUE(upload.ok()) << upload.status().ToString();
  FileIndexWriter writer((*upload)->sink());
  for (const FileIndexEntry& entry : entries) EXPECT_TRUE(writer.Add(entry).ok());
  auto stored = (*upload)->Finish();
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  manifest.index->sha256 = (*upload)->sha256_hex();
  manifest.index->bytes = (*upload)->stored_bytes();
  manifest.index->entries = writer.entries();
}

struct HandMadeChain {
  std::string parent;
  std::string child;
  size_t from_parent = 0;  // entries of the child's index held by the parent
  size_t from_child = 0;
};

// Rewrites full set `child_id` as an incremental set building on `parent_id`: its half keeps
// the pair member and the entries that changed (hard-link groups whole), its index points
// every unchanged entry into the parent's half. Small frames, so that a one-file read is
// visible.
HandMadeChain MakeIncremental(const std::string& repo_path, const std::string& parent_id,
                              const std::string& child_id) {
  HandMadeChain chain{parent_id, child_id};
  auto repo = Repository::Local(repo_path);
  Result<Manifest> parent = repo->LoadSet(parent_id);
  Result<Manifest> child = repo->LoadSet(child_id);
  EXPECT_TRUE(parent.ok() && child.ok());
  if (!parent.ok() || !child.ok()) return chain;
  std::map<std::string, FileIndexEntry> before;
  for (FileIndexEntry& entry : ReadIndex(*repo, *parent)) before[entry.path] = entry;
  const std::vector<FileIndexEntry> now = ReadIndex(*repo, *child);
  std::set<std::string> linked;  // hard-link groups are archived whole
  for (const FileIndexEntry& entry : now)
    if (entry.type == "hardlink") linked.insert({entry.path, entry.link_target});

  // The bytes to keep from the child's own half: what precedes the first member (the pair
  // member), then each changed member.
  auto half = SeekableZstdReader::OpenFile(repo_path + "/" + child_id + "/" + child->datadir.file);
  EXPECT_TRUE(half.ok()) << half.status().ToString();
  if (!half.ok()) return chain;
  uint64_t first = UINT64_MAX;
  for (const FileIndexEntry& entry : now) first = std::min(first, entry.offset);
  StringSink prefix;
  EXPECT_TRUE((*half)->DecompressRange(0, first, prefix).ok());
  std::vector<std::pair<FileIndexEntry, std::string>> kept;  // index order
  std::vector<FileIndexEntry> index;
  for (const FileIndexEntry& entry : now) {
    auto found = before.find(entry.path);
    if (found != before.end() && !linked.count(entry.path) && Unchanged(entry, found->second)) {
      index.push_back(found->second);
      ++chain.from_parent;
      continue;
    }
    StringSink member;
    EXPECT_TRUE((*half)->DecompressRange(entry.offset, entry.offset + entry.length, member).ok());
    kept.emplace_back(entry, member.bytes());
    index.push_back(entry);
    ++chain.from_child;
  }
  half->reset();

  // The new half, in place of the old one.
  const PairIdentity identity{child->id, child->pair_token, kRoleDatadir};
  EXPECT_TRUE(fs::remove(repo_path + "/" + child_id + "/" + child->datadir.file));
  HalfOptions options;
  options.seekable = true;
  options.identity = identity.ToText();
  options.frame_input_size = 64 << 10;
  auto upload = HalfUpload::Start(*repo, child->id, child->datadir.file, options);
  EXPECT_TRUE(upload.ok()) << upload.status().ToString();
  if (!upload.ok()) return chain;
  EXPECT_TRUE((*upload)->sink().Write(prefix.bytes().data(), prefix.bytes().size()).ok());
  std::map<std::string, std::pair<uint64_t, uint64_t>> placed;
  uint64_t source_bytes = 0;
  for (const auto& [entry, bytes] : kept) {
    placed[entry.path] = {(*upload)->input_bytes(), bytes.size()};
    EXPECT_TRUE((*upload)->sink().Write(bytes.data(), bytes.size()).ok());
    EXPECT_TRUE((*upload)->MaybeCutFrame().ok());
    if (entry.type == "file") source_bytes += entry.size;
  }
  const std::string end(1024, '\0');
  EXPECT_TRUE((*upload)->sink().Write(end.data(), end.size()).ok());
  auto stored = (*upload)->Finish();
  EXPECT_TRUE(stored.ok()) << stored.status().ToString();

  // The new index.
  for (FileIndexEntry& entry : index) {
    auto at = placed.find(entry.path);
    if (at != placed.end() && entry.set_id == child->id) {
      entry.offset = at->second.first;
      entry.length = at->second.second;
    }
  }
  Manifest manifest = *child;
  WriteIndex(*repo, manifest, index);
  manifest.type = SetType::kIncremental;
  manifest.parent = parent->id;
  manifest.datadir.sha256 = (*upload)->sha256_hex();
  manifest.datadir.bytes = (*upload)->stored_bytes();
  manifest.datadir.files = kept.size();
  manifest.datadir.source_bytes = source_bytes;
  std::set<std::string> paths_now;
  for (const FileIndexEntry& entry : now) paths_now.insert(entry.path);
  manifest.datadir.vanished = 0;
  for (const auto& [path, entry] : before) manifest.datadir.vanished += !paths_now.count(path);
  EXPECT_TRUE(WriteFile(repo_path + "/" + child_id + "/manifest.toml", manifest.ToText()).ok());
  return chain;
}

void FlipByte(const std::string& path, uint64_t offset) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char byte = 0;
  ASSERT_EQ(pread(fd, &byte, 1, static_cast<off_t>(offset)), 1);
  byte = static_cast<char>(byte ^ 0x5A);
  ASSERT_EQ(pwrite(fd, &byte, 1, static_cast<off_t>(offset)), 1);
  close(fd);
}

class ChainRestoreTest : public GovernNodeTest {
 protected:
  // A full set, then changes (a file rewritten, one added in a new folder, one deleted, a
  // mode changed, a file turned into a symlink), then the incremental set building on it.
  void MakeChain() {
    const std::string dir = node_.data_dir;
    first_tree_ = TreeDigest(dir, SkippedByRestore());
    first_ = BackupOkInItsOwnSecond();
    changed_ = PickFile("config");
    ASSERT_FALSE(changed_.empty());
    ASSERT_TRUE(WriteFile(dir + "/" + changed_, "rewritten after the first set\n").ok());
    fs::create_directories(dir + "/config/new-folder");
    ASSERT_TRUE(WriteFile(dir + "/config/new-folder/added.json", "{\"added\": true}\n").ok());
    removed_ = PickFile("config", changed_);
    ASSERT_FALSE(removed_.empty());
    ASSERT_TRUE(fs::remove(dir + "/" + removed_));
    unchanged_ = PickFile("config", changed_, removed_);
    ASSERT_FALSE(unchanged_.empty());
    second_tree_ = TreeDigest(dir, SkippedByRestore());
    // --full: the hand-made chain is cut from a set whose index points into its own half only.
    const std::string full = BackupOkInItsOwnSecond({"--full"});
    chain_ = MakeIncremental(repo_, first_, full);
    ASSERT_GT(chain_.from_parent, 10u);
    ASSERT_GT(chain_.from_child, 2u);
    repository_ = Repository::Local(repo_);
  }

  // A regular file under `top`, none of `not`.
  std::string PickFile(const std::string& top, const std::string& not1 = "",
                       const std::string& not2 = "") {
    std::vector<std::string> files;
    for (const auto& each : fs::recursive_directory_iterator(node_.data_dir + "/" + top)) {
      if (!each.is_regular_file() || each.is_symlink()) continue;
      struct stat st {};
      if (lstat(each.path().c_str(), &st) != 0 || st.st_nlink != 1 || st.st_size == 0) continue;
      const std::string relative = fs::path(each.path()).lexically_relative(node_.data_dir);
      if (relative != not1 && relative != not2) files.push_back(relative);
    }
    std::sort(files.begin(), files.end());
    return files.empty() ? "" : files[files.size() / 2];
  }

  Result<SetTree> Materialise(const std::string& id, const std::string& into,
                              std::vector<std::string> paths = {}) {
    GB_ASSIGN_OR_RETURN(std::vector<Manifest> chain, LoadChain(*repository_, id));
    fs::create_directories(into);
    SetTreeOptions options;
    options.destination = into;
    options.paths = std::move(paths);
    return MaterialiseSetTree(*repository_, chain, options);
  }

  std::map<std::string, std::string> first_tree_;
  std::map<std::string, std::string> second_tree_;
  std::string first_;
  std::string changed_;
  std::string removed_;
  std::string unchanged_;
  HandMadeChain chain_;
  std::unique_ptr<Repository> repository_;
};

TEST_F(ChainRestoreTest, EachSetOfTheChainIsMadeExactlyFromTheSetsThatHoldItsFiles) {
  MakeChain();
  const std::string second_dir = root_ + "/second";
  Result<SetTree> second = Materialise(chain_.child, second_dir);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->holders, (std::vector<std::string>{chain_.parent, chain_.child}));
  EXPECT_EQ(second->entries, chain_.from_parent + chain_.from_child);
  EXPECT_EQ(TreeDigest(second_dir, SkippedByRestore()), second_tree_);
  EXPECT_FALSE(fs::exists(second_dir + "/" + removed_));
  EXPECT_FALSE(fs::exists(second_dir + "/.govern-backup"));

  const std::string first_dir = root_ + "/first";
  Result<SetTree> first = Materialise(chain_.parent, first_dir);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->holders, std::vector<std::string>{chain_.parent});
  EXPECT_EQ(TreeDigest(first_dir, SkippedByRestore()), first_tree_);
}

TEST_F(ChainRestoreTest, ExtractTakesEachFileFromTheSetThatHoldsIt) {
  MakeChain();
  const std::string to = root_ + "/extracted";
  JsonRun extract = RunJson(config_path_, {"extract", chain_.child, changed_, unchanged_,
                                           "config/new-folder", "--to", to});
  ASSERT_EQ(extract.exit_code, 0) << extract.out << extract.err;
  EXPECT_EQ(extract.doc["entries"], 4);  // two files, the new folder and its file
  EXPECT_EQ(extract.doc["from_sets"], nlohmann::json({chain_.parent, chain_.child}));
  for (const std::string& path : {changed_, unchanged_, std::string("config/new-folder/added.json")})
    EXPECT_EQ(*Sha256::OfFile(to + "/" + path), *Sha256::OfFile(node_.data_dir + "/" + path))
        << path;

  // Only the parent's file: only the parent is read.
  const std::string alone = root_ + "/alone";
  JsonRun one = RunJson(config_path_, {"extract", chain_.child, unchanged_, "--to", alone});
  ASSERT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_EQ(one.doc["from_sets"], nlohmann::json({chain_.parent}));

  // A file deleted after the first set is not in the second.
  CommandResult gone = Run({"extract", chain_.child, removed_, "--to", root_ + "/gone"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find(removed_), std::string::npos) << gone.err;
  EXPECT_FALSE(fs::exists(root_ + "/gone"));
}

TEST_F(ChainRestoreTest, ADamagedHolderSetFailsNamingItAndNothingStaysStaged) {
  MakeChain();
  // Damage the parent's frame that holds the unchanged file the child needs.
  Result<Manifest> parent = repository_->LoadSet(chain_.parent);
  ASSERT_TRUE(parent.ok());
  FileIndexEntry entry;
  for (const FileIndexEntry& each : ReadIndex(*repository_, *parent))
    if (each.path == unchanged_) entry = each;
  ASSERT_EQ(entry.path, unchanged_);
  const std::string half_path = repo_ + "/" + chain_.parent + "/" + parent->datadir.file;
  {
    auto half = SeekableZstdReader::OpenFile(half_path);
    ASSERT_TRUE(half.ok());
    const SeekableFrame& frame = (*half)->frames()[(*half)->FrameIndexAt(entry.offset)];
    FlipByte(half_path, frame.compressed_offset + frame.compressed_size / 2);
  }
  Result<SetTree> tree = Materialise(chain_.child, root_ + "/damaged");
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().message().find(half_path), std::string::npos) << tree.status().ToString();

  // The restore's staging: it fails, and removes what it made.
  Result<Manifest> child = repository_->LoadSet(chain_.child);
  ASSERT_TRUE(child.ok());
  RestorePlan plan;
  plan.manifest = *child;
  plan.repository = repository_.get();
  Result<std::vector<Manifest>> chain = LoadChain(*repository_, child->id);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  plan.chain = *chain;
  plan.data_dir = root_ + "/target";
  plan.staging_dir = root_ + "/target.restore-" + child->id;
  plan.datadir_file = half_path;
  Result<StagedHalves> staged = StageHalves(plan, Env::Default(), nullptr);
  ASSERT_FALSE(staged.ok());
  EXPECT_NE(staged.status().message().find(chain_.parent), std::string::npos)
      << staged.status().ToString();
  EXPECT_FALSE(fs::exists(plan.staging_dir));
}

TEST_F(ChainRestoreTest, AFileThatIsNotWhatTheIndexRecordsIsNamed) {
  MakeChain();
  // The index (consistent with its manifest) records another content for the unchanged
  // file: its bytes in the parent's half no longer match, and the materialiser says which.
  Result<Manifest> child = repository_->LoadSet(chain_.child);
  ASSERT_TRUE(child.ok());
  std::vector<FileIndexEntry> entries = ReadIndex(*repository_, *child);
  bool edited = false;
  for (FileIndexEntry& entry : entries)
    if (entry.path == unchanged_) {
      entry.sha256 = Sha256::OfString("something else");
      edited = true;
    }
  ASSERT_TRUE(edited);
  Manifest manifest = *child;
  WriteIndex(*repository_, manifest, entries);
  ASSERT_TRUE(WriteFile(repo_ + "/" + chain_.child + "/manifest.toml", manifest.ToText()).ok());
  Result<SetTree> tree = Materialise(chain_.child, root_ + "/mismatch");
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().message().find(unchanged_), std::string::npos) << tree.status().ToString();
  EXPECT_NE(tree.status().message().find("from set " + chain_.parent), std::string::npos)
      << tree.status().ToString();
}

TEST_F(ChainRestoreTest, AHolderWithAnotherSetsIdentityIsRefused) {
  MakeChain();
  // The parent's half replaced by the child's (the manifest's size made to agree): the
  // identity frame says whose half it is.
  Result<Manifest> parent = repository_->LoadSet(chain_.parent);
  Result<Manifest> child = repository_->LoadSet(chain_.child);
  ASSERT_TRUE(parent.ok() && child.ok());
  const std::string parent_half = repo_ + "/" + chain_.parent + "/" + parent->datadir.file;
  fs::copy_file(repo_ + "/" + chain_.child + "/" + child->datadir.file, parent_half,
                fs::copy_options::overwrite_existing);
  Manifest edited = *parent;
  edited.datadir.bytes = fs::file_size(parent_half);
  ASSERT_TRUE(WriteFile(repo_ + "/" + chain_.parent + "/manifest.toml", edited.ToText()).ok());
  Result<SetTree> tree = Materialise(chain_.child, root_ + "/swapped");
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().message().find("not of set " + chain_.parent), std::string::npos)
      << tree.status().ToString();
}

class CapturedChainTest : public GovernNodeTest {
 protected:
  // Waits until nothing in the data dir changed within the racy window, so that the next
  // set trusts the times it reads and holds only what changed.
  void LetTheTreeAge() {
    const std::vector<std::string> skip = SkippedByRestore();
    int64_t newest = 0;
    for (auto it = fs::recursive_directory_iterator(node_.data_dir);
         it != fs::recursive_directory_iterator(); ++it) {
      if (it.depth() == 0 &&
          std::find(skip.begin(), skip.end(), it->path().filename().string()) != skip.end()) {
        it.disable_recursion_pending();
        continue;
      }
      struct stat st {};
      if (lstat(it->path().c_str(), &st) == 0)
        newest = std::max({newest, TimeNs(st.st_mtim), TimeNs(st.st_ctim)});
    }
    ASSERT_TRUE(WaitUntil([&] { return WallClockNs() > newest + kRacyWindowNs + 1000000; },
                          std::chrono::seconds(5)));
  }

  std::string Take() {
    LetTheTreeAge();
    const std::string id = BackupOkInItsOwnSecond();
    trees_[id] = TreeDigest(node_.data_dir, SkippedByRestore());
    return id;
  }

  void Put(const std::string& relative, const std::string& content) {
    fs::create_directories(fs::path(dir_ + "/" + relative).parent_path());
    ASSERT_TRUE(WriteFile(dir_ + "/" + relative, content, 0644).ok());
  }

  std::string dir_;
  std::map<std::string, std::map<std::string, std::string>> trees_;
};

TEST_F(CapturedChainTest, EverySetOfTheChainRestoresExactlyAndExtractReachesItsOldestSet) {
  dir_ = node_.data_dir + "/config/chain";
  Put("stable/old.txt", "from the first set\n");
  Put("changing.txt", "first\n");
  Put("going/away.txt", "soon gone\n");
  Put("flip.txt", "a file for now\n");
  Put("hard/a.txt", "linked\n");
  ASSERT_EQ(link((dir_ + "/hard/a.txt").c_str(), (dir_ + "/hard/b.txt").c_str()), 0);
  const std::string first = Take();

  Put("changing.txt", "second\n");
  fs::remove_all(dir_ + "/going");
  fs::remove(dir_ + "/flip.txt");
  fs::create_symlink("stable/old.txt", dir_ + "/flip.txt");
  Put("new/added.txt", "added in the second set\n");
  // Only a folder's mode changes: its member stays in the first set, the index has the mode.
  fs::permissions(dir_ + "/stable", fs::perms(0750));
  const std::string second = Take();

  fs::remove(dir_ + "/flip.txt");
  Put("flip.txt", "a file again\n");
  fs::rename(dir_ + "/new", dir_ + "/renamed");
  const std::string third = Take();
  for (const std::string& id : {second, third}) {
    Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
    ASSERT_TRUE(manifest.ok());
    ASSERT_EQ(manifest->type, SetType::kIncremental) << id;
  }

  // Each set restores to exactly the data dir it was taken from, files from its whole chain.
  for (const std::string& id : {first, second, third}) {
    SCOPED_TRACE("set " + id);
    const std::string target = root_ + "/restored-" + id;
    JsonRun restore = RunJson(config_path_, {"restore", id, "--data-dir", target, "--dbname",
                                             dbname_ + "_r" + id.substr(id.size() - 6), "--yes"});
    ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
    EXPECT_EQ(TreeDigest(target, SkippedByRestore()), trees_[id]);
  }

  // The chain's restore and a full set's of the same moment make the same tree, folders'
  // mtimes included (to the nanosecond: the chain must not be more precise than a full set).
  const std::string full = BackupOkInItsOwnSecond({"--full"});
  const std::string full_target = root_ + "/restored-full";
  JsonRun restore_full = RunJson(config_path_, {"restore", full, "--data-dir", full_target,
                                                "--dbname", dbname_ + "_rfull", "--yes"});
  ASSERT_EQ(restore_full.exit_code, 0) << restore_full.out << restore_full.err;
  auto times = [](const std::string& root) {
    std::map<std::string, std::pair<int64_t, long>> found;
    for (auto it = fs::recursive_directory_iterator(root + "/config/chain");
         it != fs::recursive_directory_iterator(); ++it) {
      struct stat st {};
      if (lstat(it->path().c_str(), &st) == 0)
        found[it->path().lexically_relative(root).string()] = {st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
    }
    return found;
  };
  EXPECT_EQ(times(root_ + "/restored-" + third), times(full_target));

  // extract from the newest set: a file only the first set holds, and a folder.
  const std::string to = root_ + "/extracted";
  JsonRun extract = RunJson(config_path_, {"extract", third, "config/chain/stable/old.txt",
                                           "config/chain/renamed", "--to", to});
  ASSERT_EQ(extract.exit_code, 0) << extract.out << extract.err;
  EXPECT_EQ(extract.doc["entries"], 3);
  EXPECT_EQ(extract.doc["from_sets"][0], first);
  EXPECT_EQ(*ReadWholeFile(to + "/config/chain/stable/old.txt"), "from the first set\n");
  EXPECT_EQ(*ReadWholeFile(to + "/config/chain/renamed/added.txt"), "added in the second set\n");
}

}  // namespace
}  // namespace testing
}  // namespace gb
