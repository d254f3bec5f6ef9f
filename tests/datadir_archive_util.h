// Helpers of the data-dir archive tests: in-memory sinks and sources, a scratch directory,
// a data dir with every kind of entry, and a snapshot of a tree to compare two trees.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "datadir/archive_reader.h"
#include "datadir/archive_writer.h"

#include "tests/support/scratch_dir.h"

namespace gb::testing {

using TempDir = ScratchDir;

using ::gb::StringSink;
// The archive tests read in pieces of 7919 bytes unless they ask otherwise: short reads, as
// from a pipe.
struct ShortReadSource : ::gb::StringSource {
  explicit ShortReadSource(std::string bytes, size_t piece = 7919)
      : ::gb::StringSource(std::move(bytes), piece) {}
};

namespace fs = std::filesystem;


// Accepts `limit` bytes, then fails like a full disk.
class FailingSink : public ByteSink {
 public:
  explicit FailingSink(size_t limit) : limit_(limit) {}
  Status Write(const void* data, size_t size) override {
    if (received + size > limit_) {
      ++writes_after_failure;
      return Status::Failed("test sink: no space left on device");
    }
    received += size;
    return Status::Ok();
  }
  size_t received = 0;
  int writes_after_failure = 0;

 private:
  size_t limit_;
};

// A file of the test tree, its folders made as needed.
inline void PutFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(fs::path(path).parent_path());
  Status written = ::gb::WriteFile(path, content, mode);
  ASSERT_TRUE(written.ok()) << written.ToString();
}

// A chain of `depth` directories named `name` below `root`, made with *at() calls (no path
// can reach the bottom), with a file beside every `side_every`th directory and "leaf.txt" at
// the bottom; with `links`, also a symlink to the leaf and hard links to it and to
// `root`/a-top (which must exist) at the bottom.
inline void MakeDeepChain(const std::string& root, int depth, const std::string& name,
                          int side_every, bool links) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  for (int level = 0; level < depth; ++level) {
    ASSERT_EQ(mkdirat(fd, name.c_str(), 0750), 0) << "level " << level;
    if (level % side_every == 0) {
      int file = openat(fd, ("side-" + std::to_string(level)).c_str(), O_CREAT | O_WRONLY, 0640);
      ASSERT_GE(file, 0);
      ASSERT_EQ(write(file, "side\n", 5), 5);
      close(file);
    }
    int next = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0);
    close(fd);
    fd = next;
  }
  int file = openat(fd, "leaf.txt", O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(file, 0);
  ASSERT_EQ(write(file, "deep leaf\n", 10), 10);
  close(file);
  if (links) {
    ASSERT_EQ(symlinkat("leaf.txt", fd, "leaf.link"), 0);
    ASSERT_EQ(linkat(fd, "leaf.txt", fd, "leaf.hard", 0), 0);
    ASSERT_EQ(linkat(AT_FDCWD, (root + "/a-top").c_str(), fd, "top.hard", 0), 0);
  }
  close(fd);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

inline std::string RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  return output;
}

inline std::string Pattern(size_t size, unsigned seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed * 7 + i / 977) & 0xff);
  return out;
}

inline const std::string kLongDir = std::string(60, 'd');  // four levels: > 255 characters

// A data dir with every kind of entry the archive must keep.
inline void BuildTree(const std::string& root) {
  PutFile(root + "/config/general-settings.json", "{\"x\": 1}\n", 0600);
  PutFile(root + "/bin/dss", "#!/bin/sh\necho dss\n", 0755);
  fs::create_directories(root + "/empty");
  PutFile(root + "/private/secret.txt", "secret\n", 0600);
  ASSERT_EQ(chmod((root + "/private").c_str(), 0700), 0);
  fs::create_directories(root + "/links");
  fs::create_symlink("../config/general-settings.json", root + "/links/relative");
  fs::create_symlink("/etc/hostname", root + "/links/absolute");
  fs::create_symlink("does-not-exist", root + "/links/dangling");
  PutFile(root + "/hard/first", "linked content\n");
  ASSERT_EQ(link((root + "/hard/first").c_str(), (root + "/hard/second").c_str()), 0);
  ASSERT_EQ(mkfifo((root + "/run.fifo").c_str(), 0640), 0);
  PutFile(root + "/données/été ☀.txt", "utf-8\n");
  PutFile(root + "/with space/file name.txt", "spaces\n");
  PutFile(root + "/" + std::string(120, 'n') + ".txt", "long name\n");
  PutFile(root + "/deep/" + kLongDir + "/" + kLongDir + "/" + kLongDir + "/" + kLongDir +
                "/leaf.txt",
            "deep\n");
  {
    // Mostly holes, with data at both ends and across a 1 MiB read boundary.
    const std::string big = root + "/big.bin";
    int fd = open(big.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    const std::string chunk = Pattern(300000, 1);
    ASSERT_EQ(pwrite(fd, chunk.data(), chunk.size(), 0), (ssize_t)chunk.size());
    ASSERT_EQ(pwrite(fd, chunk.data(), chunk.size(), (1 << 20) - 1000), (ssize_t)chunk.size());
    ASSERT_EQ(ftruncate(fd, 9 * 1000 * 1000 + 17), 0);
    close(fd);
  }
  PutFile(root + "/empty-file", "");
  PutFile(root + "/tmp/scratch", Pattern(5000, 2));
  PutFile(root + "/analysis-data/model.bin", Pattern(12345, 3));
  PutFile(root + "/tmpfile-kept", "not excluded: only exact names are\n");

  // Fixed, distinct mtimes, children before their directories.
  std::vector<fs::path> paths;
  for (auto& e : fs::recursive_directory_iterator(root)) paths.push_back(e.path());
  std::sort(paths.rbegin(), paths.rend());
  time_t when = 1600000000;
  for (const fs::path& p : paths) {
    struct timespec times[2] = {{when, 0}, {when, 0}};
    when += 3600;
    ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << p;
  }
}

struct NodeInfo {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  time_t mtime = 0;
  std::string content;  // file bytes or symlink target
  bool operator==(const NodeInfo& o) const {
    return mode == o.mode && uid == o.uid && gid == o.gid && mtime == o.mtime &&
           content == o.content;
  }
};

inline std::ostream& operator<<(std::ostream& out, const NodeInfo& n) {
  return out << "mode " << std::oct << n.mode << std::dec << " uid " << n.uid << " gid " << n.gid
             << " mtime " << n.mtime << " content " << n.content.size() << " bytes";
}

// Everything tar should keep, keyed by relative path; `skip` top-level names are left out.
inline std::map<std::string, NodeInfo> Snapshot(const std::string& root,
                                         const std::vector<std::string>& skip) {
  std::map<std::string, NodeInfo> nodes;
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
    NodeInfo node;
    node.mode = st.st_mode;
    node.uid = st.st_uid;
    node.gid = st.st_gid;
    if (S_ISLNK(st.st_mode)) {
      node.content = fs::read_symlink(it->path()).string();
    } else {
      node.mtime = st.st_mtime;
      if (S_ISREG(st.st_mode)) node.content = ReadFile(it->path());
    }
    nodes[relative] = node;
  }
  return nodes;
}

inline void ExpectSameTree(const std::map<std::string, NodeInfo>& expected,
                    const std::map<std::string, NodeInfo>& actual) {
  for (const auto& [name, node] : expected) {
    auto it = actual.find(name);
    if (it == actual.end()) {
      ADD_FAILURE() << "missing after extraction: " << name;
      continue;
    }
    EXPECT_EQ(it->second, node) << name;
  }
  for (const auto& [name, node] : actual) {
    EXPECT_TRUE(expected.count(name)) << "unexpected after extraction: " << name;
  }
}

inline ino_t Inode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

inline constexpr char kPair[] = "id = \"20261124T081500Z-3f9a1c\"\npair_token = \"abc\"\nrole = \"datadir\"\n";

inline ArchiveWriteOptions DefaultOptions(const std::string& source) {
  ArchiveWriteOptions options;
  options.source_dir = source;
  options.exclude = {"tmp", "analysis_data", "caches"};
  options.pair_member = kPair;
  return options;
}


}  // namespace gb::testing
