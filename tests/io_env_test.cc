#include "io/env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include <gtest/gtest.h>

#include "io/atomic_file.h"
#include "io_test_util.h"

namespace gb {
namespace {

using testing::ScratchDir;

bool Exists(const std::string& path) {
  struct stat info;
  return lstat(path.c_str(), &info) == 0;
}

TEST(Env, CreateDirectoryWithExactModeAndRefusesExisting) {
  ScratchDir dir;
  Env* env = Env::Default();
  mode_t old = umask(022);
  Status created = env->CreateDirectory(dir / "set", 0770);
  umask(old);
  ASSERT_TRUE(created.ok()) << created.ToString();
  struct stat info;
  ASSERT_EQ(stat((dir / "set").c_str(), &info), 0);
  EXPECT_TRUE(S_ISDIR(info.st_mode));
  EXPECT_EQ(info.st_mode & 07777, 0770u);

  Status again = env->CreateDirectory(dir / "set", 0700);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.message(), "cannot create directory " + (dir / "set") + ": File exists");
  EXPECT_FALSE(env->CreateDirectory(dir / "absent/set", 0700).ok());
}

TEST(Env, WritesAFileAtomicallyWithItsModeAndNamesTheHost) {
  ScratchDir dir;
  Env* env = Env::Default();
  ASSERT_TRUE(env->WriteFileAtomically(dir / "manifest.toml", "first", 0600).ok());
  ASSERT_TRUE(env->WriteFileAtomically(dir / "manifest.toml", "second", 0600).ok());
  EXPECT_EQ(*ReadWholeFile(dir / "manifest.toml"), "second");
  struct stat info;
  ASSERT_EQ(stat((dir / "manifest.toml").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_FALSE(env->WriteFileAtomically(dir / "absent/manifest.toml", "x", 0600).ok());
  char name[256] = {0};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  EXPECT_EQ(env->HostName(), name);
}

TEST(Env, RenameMovesAndReportsErrors) {
  ScratchDir dir;
  Env* env = Env::Default();
  ASSERT_TRUE(env->CreateDirectory(dir / "work", 0700).ok());
  ASSERT_TRUE(WriteFileAtomically(dir / "work/file", "content").ok());
  ASSERT_TRUE(env->Rename(dir / "work", dir / "final").ok());
  EXPECT_FALSE(Exists(dir / "work"));
  EXPECT_EQ(*ReadWholeFile(dir / "final/file"), "content");

  Status missing = env->Rename(dir / "work", dir / "other");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find(dir / "work"), std::string::npos);
}

TEST(Env, RenameAcrossFileSystemsIsAnErrorWithAHint) {
  ScratchDir dir;
  ASSERT_TRUE(WriteFileAtomically(dir / "file", "x").ok());
  struct stat here, shm;
  ASSERT_EQ(stat(dir.path().c_str(), &here), 0);
  if (stat("/dev/shm", &shm) != 0 || shm.st_dev == here.st_dev || access("/dev/shm", W_OK) != 0) {
    GTEST_SKIP() << "no second writable file system";
  }
  std::string target = "/dev/shm/gb-env-test-" + std::to_string(getpid());
  Status status = Env::Default()->Rename(dir / "file", target);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("Invalid cross-device link"), std::string::npos);
  EXPECT_FALSE(status.hint().empty());
  EXPECT_TRUE(Exists(dir / "file"));
}

TEST(Env, RemoveAllDeletesTreesButNotThroughSymlinks) {
  ScratchDir dir;
  Env* env = Env::Default();
  ASSERT_TRUE(env->CreateDirectory(dir / "outside", 0700).ok());
  ASSERT_TRUE(WriteFileAtomically(dir / "outside/keep", "keep").ok());
  ASSERT_TRUE(env->CreateDirectory(dir / "tree", 0700).ok());
  ASSERT_TRUE(env->CreateDirectory(dir / "tree/sub", 0700).ok());
  ASSERT_TRUE(WriteFileAtomically(dir / "tree/sub/file", "x").ok());
  ASSERT_EQ(symlink((dir / "outside").c_str(), (dir / "tree/link").c_str()), 0);
  ASSERT_TRUE(env->RemoveAll(dir / "tree").ok());
  EXPECT_FALSE(Exists(dir / "tree"));
  EXPECT_EQ(*ReadWholeFile(dir / "outside/keep"), "keep");

  EXPECT_TRUE(env->RemoveAll(dir / "tree").ok());  // absent is fine
  ASSERT_TRUE(WriteFileAtomically(dir / "single", "x").ok());
  EXPECT_TRUE(env->RemoveAll(dir / "single").ok());
  EXPECT_FALSE(Exists(dir / "single"));
}

TEST(Env, NowIsTheSystemClock) {
  auto before = std::chrono::system_clock::now();
  auto now = Env::Default()->Now();
  auto after = std::chrono::system_clock::now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace gb
