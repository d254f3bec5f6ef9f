// End-to-end `ls` and `extract` on sets of the real binary: a new set is format 2 with a
// seekable data-dir half and a per-file index; ls lists from the index (root, a folder, a
// file, a missing path, --json); extract gives back a file and a folder with the node's
// bytes, modes and mtimes, refuses the live data dir, and names a path not in the set; a
// format-1 set (0.1.0's plain half, no index) is said to have no index while verify and
// restore still take it; and the same on an S3 repository.
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "coordinator/manifest.h"
#include "io/files.h"
#include "io/sha256.h"
#include "io/zstd_file.h"
#include "tests/support/cli_json.h"
#include "tests/support/restore_skips.h"
#include "tests/support/govern_fixture.h"
#include "tests/support/s3_node_fixture.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;

constexpr char kFile[] = "config/general-settings.json";
constexpr char kFolder[] = "config/governance";
constexpr char kLinkedFolder[] = "plugins/installed/sample-plugin/python-lib";  // a hard link

// What extract must reproduce of one entry: type and mode, owner (extract runs as root
// here), size, mtime, content. The tar keeps whole seconds of mtime (plain ustar headers),
// as a restore does.
std::string Describe(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return "missing";
  std::string text = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
                     std::to_string(st.st_gid) + " " + std::to_string(st.st_size) + " " +
                     std::to_string(st.st_mtim.tv_sec);
  if (S_ISREG(st.st_mode)) text += " " + *Sha256::OfFile(path);
  if (S_ISLNK(st.st_mode)) text += " -> " + fs::read_symlink(path).string();
  return text;
}

// Every entry under `relative` of `root` (itself included), described.
std::map<std::string, std::string> Entries(const std::string& root, const std::string& relative) {
  std::map<std::string, std::string> entries;
  const fs::path top = fs::path(root) / relative;
  entries[relative] = Describe(top.string());
  if (fs::is_directory(fs::symlink_status(top)))
    for (auto& each : fs::recursive_directory_iterator(top))
      entries[fs::path(each.path()).lexically_relative(root).string()] =
          Describe(each.path().string());
  return entries;
}

// Paths listed by `ls --json`.
std::set<std::string> Paths(const nlohmann::json& entries) {
  std::set<std::string> paths;
  for (const auto& entry : entries) paths.insert(entry["path"].get<std::string>());
  return paths;
}

using Runner = std::function<CommandResult(const std::vector<std::string>&)>;

// The checks every repository kind must pass on a fresh set `id`; `run` runs the binary
// without --json (for the refusals, which print no document).
void ExpectLsAndExtract(const std::string& config, const Runner& run, const std::string& id,
                        const std::string& data_dir, const std::string& scratch) {
  JsonRun all = RunJson(config, {"ls", id});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  ASSERT_TRUE(all.doc.is_array()) << all.out;
  std::set<std::string> every = Paths(all.doc);
  EXPECT_TRUE(every.count(kFile));
  EXPECT_TRUE(every.count(kFolder));
  EXPECT_FALSE(every.count(".govern-backup/pair.toml")) << "the pair member is not the node's";

  JsonRun file = RunJson(config, {"ls", id, kFile});
  ASSERT_EQ(file.exit_code, 0) << file.err;
  ASSERT_EQ(file.doc.size(), 1u) << file.out;
  const nlohmann::json& entry = file.doc[0];
  struct stat st;
  ASSERT_EQ(lstat((data_dir + "/" + kFile).c_str(), &st), 0);
  EXPECT_EQ(entry["type"], "file");
  EXPECT_EQ(entry["size"], static_cast<uint64_t>(st.st_size));
  EXPECT_EQ(entry["mode"], st.st_mode & 07777);
  EXPECT_EQ(entry["uid"], st.st_uid);
  EXPECT_EQ(entry["mtime_ns"],
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  EXPECT_EQ(entry["sha256"], *Sha256::OfFile(data_dir + "/" + kFile));
  EXPECT_EQ(entry["set"], id);

  JsonRun folder = RunJson(config, {"ls", id, std::string(kFolder) + "/"});
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  std::set<std::string> expected_folder;
  for (const auto& [path, what] : Entries(data_dir, kFolder)) expected_folder.insert(path);
  EXPECT_EQ(Paths(folder.doc), expected_folder);

  CommandResult missing = run({"ls", id, "config/no-such-file"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("config/no-such-file"), std::string::npos) << missing.err;

  // extract: a file and a folder, with the node's bytes, modes and mtimes.
  const std::string to = scratch + "/extracted";
  JsonRun extract = RunJson(config, {"extract", id, kFile, kFolder, "--to", to});
  ASSERT_EQ(extract.exit_code, 0) << extract.out << extract.err;
  EXPECT_EQ(extract.doc["entries"], 1 + expected_folder.size());
  EXPECT_EQ(Entries(to, kFile), Entries(data_dir, kFile));
  EXPECT_EQ(Entries(to, kFolder), Entries(data_dir, kFolder));
  EXPECT_FALSE(fs::exists(to + "/.govern-backup"));

  // A hard link alone comes with the file it links to: tar holds their content once.
  JsonRun plugin = RunJson(config, {"ls", id, kLinkedFolder});
  ASSERT_EQ(plugin.exit_code, 0) << plugin.err;
  std::string link, target;
  for (const auto& each : plugin.doc)
    if (each["type"] == "hardlink") {
      link = each["path"];
      target = each["link"];
    }
  ASSERT_FALSE(link.empty()) << plugin.out;
  const std::string linked_to = scratch + "/hardlink";
  JsonRun linked = RunJson(config, {"extract", id, link, "--to", linked_to});
  ASSERT_EQ(linked.exit_code, 0) << linked.out << linked.err;
  EXPECT_EQ(linked.doc["entries"], 2);
  EXPECT_EQ(Entries(linked_to, link), Entries(data_dir, link));
  EXPECT_EQ(Entries(linked_to, target), Entries(data_dir, target));
  struct stat link_stat;
  ASSERT_EQ(lstat((linked_to + "/" + link).c_str(), &link_stat), 0);
  EXPECT_EQ(link_stat.st_nlink, 2u);

  // Not into a directory that is not empty; a path not in the set is named.
  CommandResult again = run({"extract", id, kFile, "--to", to});
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;
  CommandResult absent = run({"extract", id, "config/no-such-file", "--to", scratch + "/absent"});
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_NE(absent.err.find("config/no-such-file"), std::string::npos) << absent.err;

  // Never the live data dir, nor inside it.
  for (const std::string& live : {data_dir, data_dir + "/config/restored", data_dir + "/."}) {
    CommandResult refused = run({"extract", id, kFile, "--to", live});
    EXPECT_EQ(refused.exit_code, 4) << live;
    EXPECT_NE(refused.err.find("data dir"), std::string::npos) << refused.err;
  }
  EXPECT_FALSE(fs::exists(data_dir + "/config/restored"));
}

class LsExtractTest : public GovernNodeTest {};

TEST_F(LsExtractTest, ANewSetIsSeekableWithAnIndexThatLsAndExtractRead) {
  const std::string id = BackupOk();
  Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  EXPECT_EQ(manifest->format, 2);
  EXPECT_TRUE(manifest->datadir.seekable);
  ASSERT_TRUE(manifest->index.has_value());
  // Taken in two passes (DSS running), a path the second pass read again is archived twice.
  EXPECT_LE(manifest->index->entries, manifest->datadir.files);
  EXPECT_TRUE(fs::exists(repo_ + "/" + id + "/" + manifest->index->file));

  ExpectLsAndExtract(config_path_, [this](const auto& args) { return Run(args); }, id,
                     node_.data_dir, root_);

  // The text listing: ls -l's columns, one line per entry.
  CommandResult text = Run({"ls", id, kFile});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("-rw", 0), 0u) << text.out;
  EXPECT_NE(text.out.find(std::string("  ") + kFile + "\n"), std::string::npos) << text.out;

  // The seekable half and its index still verify and audit.
  JsonRun verify = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  JsonRun audit = RunJson(config_path_, {"audit"});
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
}

TEST_F(LsExtractTest, VerifyFindsADamagedIndex) {
  const std::string id = BackupOk();
  Result<Manifest> manifest = Manifest::Load(repo_ + "/" + id + "/manifest.toml");
  ASSERT_TRUE(manifest.ok());
  const std::string index = repo_ + "/" + id + "/" + manifest->index->file;
  std::string bytes = *ReadWholeFile(index);
  bytes[bytes.size() / 2 + 20] ^= 0x20;
  ASSERT_TRUE(WriteFile(index, bytes).ok());
  JsonRun verify = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(verify.exit_code, 3) << verify.out;
  EXPECT_TRUE(HasProblem(verify.doc, "set " + id + " index", ""));
}

// Rewrites set `id` of `repo` as govern-backup 0.1.0 made it: one plain zstd stream with the
// identity frame first, no index, a format-1 manifest.
void MakeFormat1(const std::string& repo, const std::string& id) {
  const std::string dir = repo + "/" + id;
  Result<Manifest> loaded = Manifest::Load(dir + "/manifest.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  Manifest manifest = *loaded;
  const std::string half = dir + "/" + manifest.datadir.file;
  auto reader = ZstdFileReader::Open(half);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  StringSink tar;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    Result<size_t> got = (*reader)->Read(buffer.data(), buffer.size());
    ASSERT_TRUE(got.ok());
    if (*got == 0) break;
    ASSERT_TRUE(tar.Write(buffer.data(), *got).ok());
  }
  const std::string identity = (*reader)->header_frame();
  reader->reset();
  ASSERT_TRUE(fs::remove(half));
  ZstdWriterOptions options;
  options.header_frame = identity;
  auto writer = ZstdFileWriter::Create(half, options);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  ASSERT_TRUE((*writer)->Write(tar.bytes().data(), tar.bytes().size()).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  manifest.datadir.sha256 = (*writer)->sha256_hex();
  manifest.datadir.bytes = (*writer)->file_bytes();
  manifest.datadir.seekable = false;
  ASSERT_TRUE(fs::remove(dir + "/" + manifest.index->file));
  manifest.index.reset();
  manifest.format = 1;
  manifest.tool_version = "0.1.0";
  ASSERT_TRUE(WriteFile(dir + "/manifest.toml", manifest.ToText()).ok());
}

TEST_F(LsExtractTest, AFormat1SetHasNoIndexButVerifiesAndRestores) {
  const auto tree = TreeDigest(node_.data_dir, SkippedByRestore());
  // One pass, as 0.1.0 took them: with DSS running a second pass may archive a path twice.
  ASSERT_TRUE(RunDss("stop").ok());
  const std::string id = BackupOk();
  MakeFormat1(repo_, id);
  const std::string manifest_text = *ReadWholeFile(repo_ + "/" + id + "/manifest.toml");
  EXPECT_EQ(manifest_text.find("seekable"), std::string::npos);
  EXPECT_EQ(manifest_text.find("[index]"), std::string::npos);

  CommandResult ls = Run({"ls", id});
  EXPECT_EQ(ls.exit_code, 1);
  EXPECT_NE(ls.err.find("no per-file index"), std::string::npos) << ls.err;
  EXPECT_NE(ls.err.find("tar -t"), std::string::npos) << ls.err;
  CommandResult extract = Run({"extract", id, kFile, "--to", root_ + "/x"});
  EXPECT_EQ(extract.exit_code, 1);
  EXPECT_NE(extract.err.find("no per-file index"), std::string::npos) << extract.err;
  EXPECT_FALSE(fs::exists(root_ + "/x"));

  JsonRun verify = RunJson(config_path_, {"verify", id});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  const std::string elsewhere = root_ + "/restored";
  JsonRun restore = RunJson(config_path_, {"restore", id, "--data-dir", elsewhere, "--dbname",
                                           dbname_ + "_r", "--yes"});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(TreeDigest(elsewhere, SkippedByRestore()), tree);
}

class LsExtractS3Test : public S3NodeTest {};

TEST_F(LsExtractS3Test, LsAndExtractThroughTheBucket) {
  S3_NODE_TEST_OR_SKIP();
  const std::string id = BackupOk();
  std::vector<std::string> keys = Keys();
  EXPECT_TRUE(std::find(keys.begin(), keys.end(), "sets/" + id + "/" + id + ".index.jsonl.zst") !=
              keys.end());
  ExpectLsAndExtract(config_path_, [this](const auto& args) { return Run(args); }, id,
                     node_.data_dir, root_);
}

}  // namespace
}  // namespace testing
}  // namespace gb
