#include "io/atomic_file.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "io_test_util.h"

namespace gb {
namespace {

using testing::MakeTestData;
using testing::ScratchDir;

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return names;
  while (dirent* entry = readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat info;
  EXPECT_EQ(stat(path.c_str(), &info), 0);
  return info.st_mode & 07777;
}

TEST(AtomicFile, CreatesAndReplacesLeavingNoTemporaryFile) {
  ScratchDir dir;
  const std::string path = dir / "manifest.toml";
  ASSERT_TRUE(WriteFileAtomically(path, "first\n").ok());
  EXPECT_EQ(*ReadWholeFile(path), "first\n");
  EXPECT_EQ(ModeOf(path), 0600u);

  const std::string big = MakeTestData(3 << 20);
  ASSERT_TRUE(WriteFileAtomically(path, big, 0644).ok());
  auto content = ReadWholeFile(path);
  ASSERT_TRUE(content.ok());
  EXPECT_TRUE(*content == big);
  EXPECT_EQ(ModeOf(path), 0644u);
  EXPECT_EQ(List(dir.path()), std::vector<std::string>{"manifest.toml"});

  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(*ReadWholeFile(path), "");
}

TEST(AtomicFile, ModeIsExactWhateverTheUmask) {
  ScratchDir dir;
  mode_t old = umask(077);
  Status status = WriteFileAtomically(dir / "shared", "x", 0644);
  umask(old);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(ModeOf(dir / "shared"), 0644u);
}

TEST(AtomicFile, ReplacingADirectoryFailsAndCleansUp) {
  ScratchDir dir;
  ASSERT_EQ(mkdir((dir / "taken").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((dir / "taken/child").c_str(), 0700), 0);
  Status status = WriteFileAtomically(dir / "taken", "x");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(dir / "taken"), std::string::npos);
  EXPECT_EQ(List(dir.path()), std::vector<std::string>{"taken"});
}

TEST(AtomicFile, MissingDirectoryIsAnError) {
  ScratchDir dir;
  Status status = WriteFileAtomically(dir / "absent/file", "x");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(dir / "absent/file.tmp-"), std::string::npos);
}

TEST(AtomicFile, FsyncFilesAndDirectories) {
  ScratchDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir / "f", "x").ok());
  EXPECT_TRUE(FsyncPath(dir / "f").ok());
  EXPECT_TRUE(FsyncPath(dir.path()).ok());
  EXPECT_TRUE(FsyncParentDirectory(dir / "f").ok());
  EXPECT_FALSE(FsyncPath(dir / "absent").ok());
  EXPECT_FALSE(FsyncParentDirectory(dir / "absent/f").ok());
}

TEST(AtomicFile, ReadWholeFileErrors) {
  ScratchDir dir;
  auto missing = ReadWholeFile(dir / "absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir / "absent"), std::string::npos);
  EXPECT_FALSE(ReadWholeFile(dir.path()).ok());  // a directory
}

}  // namespace
}  // namespace gb
